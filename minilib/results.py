"""Where a chapter's recorded results live, and how they are written and read.

A run of scale "ci" writes ``<results>/<chapter>.json``, any other scale
``<results>/<scale>/<chapter>.json``, where ``<results>`` is ``$MINILIB_RESULTS`` when
set (the book's commands point it into ``_build/``, so they never touch a tracked file)
and the project's ``results/`` folder otherwise (a maintainer's refresh of the committed
chapters). Committed full-scale runs are read from ``<project>/results/<scale>/``, with
the run record ``<chapter>.run.json`` (hardware, date, wall time) beside them.

Files are written as a transaction: to a temporary file in the same folder, moved into
place in one step. :class:`minilib.chapter.Chapter` writes its file once, when the
chapter has finished, so a failed or interrupted run leaves the previous file as it was.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VAR",
    "committed_dir",
    "load",
    "plain",
    "project_root",
    "results_dir",
    "write_json",
]

ROOT_MARKER = "_toc.yml"
ENV_VAR = "MINILIB_RESULTS"


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working folder) that holds
    ``_toc.yml``; None outside the project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    return None


def _with_scale(base: Path, scale: str) -> Path:
    return base if scale == "ci" else base / scale


def results_dir(scale: str = "ci") -> Path:
    """Where a run of ``scale`` writes: ``$MINILIB_RESULTS`` if set, else
    ``<project root>/results`` (``./results`` outside the project); scales other than
    "ci" get a subfolder named after the scale."""
    env = os.environ.get(ENV_VAR)
    if env:
        return _with_scale(Path(env), scale)
    root = project_root()
    return _with_scale((root if root is not None else Path.cwd()) / "results", scale)


def committed_dir(scale: str = "ci") -> Path | None:
    """The project's committed results of ``scale`` (``<root>/results[/<scale>]``),
    whatever ``$MINILIB_RESULTS`` says; None outside the project."""
    root = project_root()
    return None if root is None else _with_scale(root / "results", scale)


def plain(value: Any) -> Any:
    """``value`` as plain JSON values (numpy scalars and arrays, torch tensors become
    numbers and lists); refuses what JSON cannot hold, and non-finite numbers."""
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()  # numpy scalars and arrays, torch tensors
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"cannot record a non-finite number ({value}); a check on it could "
                "never be meaningful"
            )
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(
        f"cannot record a {type(value).__name__}; record numbers, strings, lists or "
        "dicts"
    )


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` (keys sorted, one space of indentation) to ``path`` as a
    transaction: a temporary file in the same folder, then one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(dict(sorted(data.items())), f, indent=1, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(chapter: str, *, scale: str = "ci", folder: Path | None = None) -> dict:
    """The recorded results of ``chapter`` at ``scale``, from ``folder`` (default:
    :func:`results_dir`); a missing file names the chapter and how to produce it."""
    path = (folder if folder is not None else results_dir(scale)) / f"{chapter}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no recorded results for {chapter!r} at scale {scale!r} ({path}); run the "
            f"chapter first (`make run NB=notebooks/{chapter}.ipynb SCALE={scale}`)"
        )
    return json.loads(path.read_text())
