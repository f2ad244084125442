"""minilib.runtime: parameter checks, seeding, determinism, device choice, presets."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import minilib
from minilib import runtime, setup
from minilib.runtime import check_params, pick_device, set_seed


@pytest.mark.parametrize("scale", ["CI", "small", "", None, 1])
def test_bad_scale_lists_accepted(scale):
    with pytest.raises(ValueError, match=r"scale must be one of 'ci', 'full'"):
        check_params(scale, 0)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True, None])
def test_bad_seed_says_range(seed):
    with pytest.raises(
        ValueError, match=r"seed must be an integer in \[0, 4294967295\]"
    ):
        check_params("ci", seed)


def test_bad_data_dir(tmp_path):
    with pytest.raises(ValueError, match="existing folder"):
        check_params("ci", 0, tmp_path / "nope")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="existing folder"):
        check_params("ci", 0, f)
    with pytest.raises(ValueError, match="None"):
        check_params("ci", 0, 3)
    assert check_params("ci", 0, tmp_path).data_dir == tmp_path
    assert check_params("ci", 0, str(tmp_path)).data_dir == tmp_path


@pytest.mark.parametrize("device", ["gpu", "CUDA", "", None])
def test_bad_device(device):
    with pytest.raises(
        ValueError, match=r"device must be one of 'auto', 'cpu', 'cuda'"
    ):
        check_params("ci", 0, None, device)


def test_pick_device():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_set_seed_repeats_every_generator():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002

    set_seed(7)
    a = draw()
    set_seed(7)
    assert draw() == a
    set_seed(8)
    assert draw() != a


def test_setup_selects_preset_and_is_deterministic(capsys):
    presets = {"ci": {"n": 3, "lr": 0.1}, "full": {"n": 300, "lr": 0.01}}
    p = setup("00_x", "ci", 1, None, "cpu", presets)
    assert p.preset.n == 3 and p.preset["lr"] == 0.1 and p.device == "cpu"
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == runtime.DEFAULT_THREADS
    assert "00_x: scale=ci seed=1 device=cpu threads=2" in capsys.readouterr().out
    x = torch.rand(3)
    setup("00_x", "ci", 1, None, "cpu", presets, verbose=False)
    assert torch.equal(torch.rand(3), x)
    full = setup("00_x", "full", 1, None, "cpu", presets, verbose=False)
    assert full.preset.n == 300
    with pytest.raises(AttributeError, match="has no 'epochs'"):
        _ = p.preset.epochs


def test_presets_must_cover_scales_with_same_keys():
    with pytest.raises(ValueError, match="missing"):
        setup("00_x", "ci", 0, None, "cpu", {"ci": {"n": 1}}, verbose=False)
    with pytest.raises(ValueError, match="keys"):
        setup("00_x", "ci", 0, None, "cpu", {"ci": {"n": 1}, "full": {"m": 1}})


def test_environment_report_names_packages():
    text = runtime.environment_report(["numpy", "surely-not-a-package"])
    assert text.startswith("python ")
    assert f"numpy {np.__version__}" in text
    assert "surely-not-a-package not installed" in text


def test_import_has_no_side_effects():
    """Importing minilib must not seed, style or change torch settings (run in a fresh
    interpreter).
    """
    import subprocess
    import sys

    code = (
        "import torch, matplotlib as mpl; before = (torch.get_num_threads(), "
        "dict(mpl.rcParams));"
        "import minilib, minilib.data, minilib.plot, minilib.train, minilib.metrics;"
        "after = (torch.get_num_threads(), dict(mpl.rcParams));"
        "assert before == after; assert not "
        "torch.are_deterministic_algorithms_enabled(); print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_parallel_map_keeps_order_and_results_and_restores_threads():
    def work(seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(200, 50, generator=g, requires_grad=True)
        (x.logsumexp(1) ** 2).sum().backward()
        return float(x.grad.sum()), torch.get_num_threads()

    items = list(range(6))
    before = torch.get_num_threads()
    # the reference: the same work in turn on one thread (torch's reductions may split
    # differently over two threads, and the workers run on one each)
    torch.set_num_threads(1)
    sequential = [work(i)[0] for i in items]
    torch.set_num_threads(before)
    out = minilib.parallel_map(work, items, workers=2)
    assert [v for v, _ in out] == sequential
    assert all(threads == 1 for _, threads in out)
    assert torch.get_num_threads() == before
    with pytest.raises(ZeroDivisionError):
        minilib.parallel_map(lambda x: 1 / x, [1, 0])
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="workers"):
        minilib.parallel_map(work, items, workers=0)
