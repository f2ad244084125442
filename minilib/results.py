"""Recorded results: a number glued into the book's prose and written to
``results/<chapter>.json``.

A chapter records what it checks::

    record("00_datasets", "kuairand_users", n_users, scale=params.scale)

Inside a notebook the value is glued with myst-nb under ``key``, so the chapter's prose
can show it with ``{glue:text}`kuairand_users```; it is also merged into the chapter's
JSON file, which the tests read. Scale "ci" writes ``results/<chapter>.json``; any other
scale writes ``results/<scale>/<chapter>.json``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT_MARKER = "_toc.yml"
ENV_VAR = "MINILIB_RESULTS"


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working folder) holding
    ``_toc.yml``.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    return None


def results_dir(scale: str = "ci") -> Path:
    """``$MINILIB_RESULTS`` if set, else ``<project root>/results`` (``./results``
    outside the project); scales other than "ci" get a subfolder named after the scale.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        base = Path(env)
    else:
        root = project_root()
        base = (root if root is not None else Path.cwd()) / "results"
    return base if scale == "ci" else base / scale


def _plain(value: Any) -> Any:
    """Convert numpy scalars and arrays to plain JSON values; refuse what JSON cannot
    hold.
    """
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
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(
        f"cannot record a {type(value).__name__}; record numbers, strings, lists or "
        "dicts"
    )


def _glue(name: str, value: Any, display: bool) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(name, value, display=display)


def record(
    chapter: str, key: str, value: Any, *, scale: str = "ci", display: bool = False
) -> Any:
    """Glue ``value`` as ``<key>`` into the book and store it under ``key`` in the
    chapter's JSON file.

    The file is rewritten atomically (temporary file, then rename) with the other keys
    kept. Returns the value as stored (numpy types become plain Python), so a chapter
    can write ``x = record(...)``.
    """
    if not chapter or not key:
        raise ValueError("chapter and key must be non-empty strings")
    plain = _plain(value)
    folder = results_dir(scale)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.json"
    data = load(chapter, scale=scale) if path.exists() else {}
    data[key] = plain
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{chapter}.", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(dict(sorted(data.items())), f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _glue(key, plain, display)
    return plain


def load(chapter: str, *, scale: str = "ci") -> dict[str, Any]:
    """The recorded results of a chapter; a missing file names the chapter and how to
    produce it.
    """
    path = results_dir(scale) / f"{chapter}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no recorded results for {chapter!r} at scale {scale!r} ({path}); "
            f"run the chapter first (`make run NB=notebooks/{chapter}.ipynb`)"
        )
    return json.loads(path.read_text())
