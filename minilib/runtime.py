"""Seeds, determinism, device choice, scale presets and the parameter check of every
chapter (:func:`minilib.setup` puts them together).

Nothing here runs at import time.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

SCALES: tuple[str, ...] = ("ci", "full")
"""Scales every chapter accepts: "ci" (default, 2-core CPU, <= 120 s) and "full"
(paper-faithful, GPU).
"""

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
DEFAULT_THREADS = 2
SEED_MAX = 2**32 - 1


class Preset(dict):
    """The sizes of one scale (a dict whose keys also read as attributes:
    ``preset.n_epochs``).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"this preset has no {name!r}; it has {sorted(self)}"
            ) from None


@dataclass(frozen=True)
class Params:
    """The checked parameters of a chapter run and the preset its scale selects."""

    scale: str
    seed: int
    data_dir: Path | None
    device: str
    preset: Preset = field(default_factory=Preset)


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that still uses the global generator
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def configure_determinism(threads: int = DEFAULT_THREADS) -> None:
    """Deterministic torch kernels and a fixed intra-op thread count, so reruns print
    the same numbers.

    Sets ``CUBLAS_WORKSPACE_CONFIG`` (needed by deterministic cuBLAS), turns off cuDNN
    autotuning and asks torch to raise on any nondeterministic kernel.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def pick_device(device: str = "auto"):
    """``"auto"`` gives CUDA when available, else the CPU; ``"cuda"`` without a GPU is
    an error.
    """
    import torch

    device = _check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was asked for, but torch sees no CUDA GPU; use 'auto' or "
            "'cpu'"
        )
    return torch.device(device)


def _check_seed(seed: Any) -> int:
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= int(seed) <= SEED_MAX
    ):
        raise ValueError(f"seed must be an integer in [0, {SEED_MAX}], got {seed!r}")
    return int(seed)


def _check_device(device: Any) -> str:
    if device not in DEVICES:
        raise ValueError(
            f"device must be one of {', '.join(map(repr, DEVICES))}, got {device!r}"
        )
    return device


def check_params(
    scale: Any, seed: Any, data_dir: Any = None, device: Any = "auto"
) -> Params:
    """Validate a chapter's parameters; a bad value raises ``ValueError`` listing the
    accepted ones.

    - ``scale``: one of :data:`SCALES`;
    - ``seed``: an integer in [0, 2**32 - 1];
    - ``data_dir``: ``None`` (use ``$MINILIB_DATA``) or an existing folder;
    - ``device``: one of :data:`DEVICES`.
    """
    if scale not in SCALES:
        raise ValueError(
            f"scale must be one of {', '.join(map(repr, SCALES))}, got {scale!r}"
        )
    seed = _check_seed(seed)
    if data_dir is not None:
        if not isinstance(data_dir, str | os.PathLike) or str(data_dir) == "":
            raise ValueError(
                "data_dir must be None (use $MINILIB_DATA) or a folder path, got "
                f"{data_dir!r}"
            )
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise ValueError(
                "data_dir must be None (use $MINILIB_DATA) or an existing folder; "
                f"{str(path)!r} is not a folder"
            )
        data_dir = path
    return Params(
        scale=scale, seed=seed, data_dir=data_dir, device=_check_device(device)
    )


def select_preset(
    presets: Mapping[str, Mapping[str, Any]] | None, scale: str
) -> Preset:
    """The preset of ``scale`` (empty without presets). ``presets`` must give exactly
    the scales of :data:`SCALES`, each with the same keys: a preset that forgets a size
    fails here, not halfway through a long run."""
    if presets is None:
        return Preset()
    missing = [s for s in SCALES if s not in presets]
    extra = [s for s in presets if s not in SCALES]
    if missing or extra:
        raise ValueError(
            f"presets must give exactly the scales {list(SCALES)}; missing {missing}, "
            f"unknown {extra}"
        )
    keys = {s: set(p) for s, p in presets.items()}
    first = keys[SCALES[0]]
    for s, k in keys.items():
        if k != first:
            raise ValueError(
                f"preset {s!r} has keys {sorted(k)} but {SCALES[0]!r} has "
                f"{sorted(first)}"
            )
    return Preset(presets[scale])


def environment_report(
    packages: Iterable[str] = ("minilib", "numpy", "pandas", "torch", "matplotlib"),
) -> str:
    """One line per package with its version, plus Python and the platform: the closing
    cell of a chapter.
    """
    lines = [
        f"python {sys.version.split()[0]} on {platform.system()} {platform.machine()}"
    ]
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"{name} {version}")
    return "\n".join(lines)


def parallel_map(
    fn: Callable[[Any], Any], items: Iterable[Any], workers: int = DEFAULT_THREADS
) -> list[Any]:
    """``[fn(x) for x in items]``, ``workers`` at a time in threads, in the order of
    ``items``.

    For independent pieces of CPU work made of small torch operations, which one
    intra-op thread runs as fast as two (the SAE optimiser's steps): while the workers
    run, torch uses one intra-op thread, so they share the cores instead of competing
    for them; the previous setting is restored after. The results are those of a
    sequential run when ``fn`` draws its randomness from its own generators (never the
    global ones) and its arithmetic does not depend on the thread count. An exception
    in ``fn`` is raised here.

    Used by the SAE chapter.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch

    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    items = list(items)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))
    finally:
        torch.set_num_threads(before)


PROGRESS_VAR = "MINILIB_PROGRESS"


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any):
    """A tqdm progress bar, unless ``$MINILIB_PROGRESS`` is ``0``.

    The book's runner (``make book``, ``make refresh``) and nbval set it to ``0``, so
    the committed chapters hold no bar frames; a person who runs a chapter in Jupyter
    or a terminal sees the bars. ``kwargs`` go to ``tqdm`` (``disable=True`` still
    turns a bar off).

    Used by every chapter with long loops, and by :func:`minilib.train.fit`.
    """
    from tqdm import tqdm

    off = os.environ.get(PROGRESS_VAR, "1").strip().lower() in ("0", "off", "false")
    kwargs["disable"] = bool(kwargs.get("disable", False)) or off
    kwargs.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kwargs)
