"""`python -m minilib.data` as a reader runs it: verify, list, unknown names, exit
codes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minilib.data import registry
from minilib.data.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, data_root: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("MINILIB_DATA", None)
    if data_root is not None:
        env["MINILIB_DATA"] = str(data_root)
    return subprocess.run(
        [sys.executable, "-m", "minilib.data", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.data
def test_verify_real_data(data_root):
    proc = run_cli("verify", data_root=data_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in registry.DATASETS:
        assert name in proc.stdout
    assert f"all {len(registry.DATASETS)} dataset(s) ok" in proc.stdout


def test_verify_corrupt_file_subprocess(tmp_path):
    """A real registry dataset on a fake root, with wrong bytes: exit 1, the file is
    named.
    """
    folder = tmp_path / "sae_ki_ca1"
    folder.mkdir()
    bad = folder / "Ki_Carbonic_anhydrase_I.csv"
    bad.write_text("not,the,real,file\n")
    proc = run_cli("verify", "sae_ki_ca1", "--data-dir", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert str(bad) in proc.stdout and "mismatch" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_verify_fake_dataset_in_process(fake_dataset, capsys):
    root = fake_dataset(
        "kiba",
        {"proteins.txt": b"{}", "b.txt": b"b", "c.txt": b"c"},
        checksums={"b.txt": "0" * 64},
    )
    (root / "kiba" / "c.txt").unlink()
    assert main(["verify", "kiba"]) == 1
    out = capsys.readouterr().out
    assert str(root / "kiba" / "b.txt") in out and str(root / "kiba" / "c.txt") in out
    assert "1 missing, 1 mismatched" in out

    (root / "kiba" / "c.txt").write_bytes(b"c")
    (root / "kiba" / "b.txt").unlink()
    assert main(["verify", "kiba", "--data-dir", str(root)]) == 1
    assert main(["verify", "davis", "--data-dir", str(root)]) == 1  # no folder at all
    assert "missing folder" in capsys.readouterr().out


def test_verify_without_data_root():
    proc = run_cli("verify")
    assert proc.returncode == 1
    assert "MINILIB_DATA" in proc.stderr and "Traceback" not in proc.stderr


def test_list():
    proc = run_cli("list")
    assert proc.returncode == 0, proc.stderr
    for name, ds in registry.DATASETS.items():
        line = next(
            line for line in proc.stdout.splitlines() if line.startswith(name + " ")
        )
        assert str(len(ds.files)) in line and ds.url in line and ds.licence in line


@pytest.mark.parametrize("command", ["verify", "fetch"])
def test_unknown_name_exits_2(command):
    proc = run_cli(command, "no_such_dataset")
    assert proc.returncode == 2
    assert "no_such_dataset" in proc.stderr
    for name in registry.DATASETS:
        assert name in proc.stderr


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["fetch"])  # needs a name
    assert exc.value.code == 2
