"""Check the datasets on disk against the registry's sha256, file by file.

:func:`verify` gives one row per dataset (used by ``python -m minilib.data verify`` and
the tests); :func:`verify_files` gives the status of every file of one dataset. Digests
come from :func:`~minilib.data._io.sha256_file`, which caches them per (path, size,
mtime), so a second check in the same process is almost free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import registry
from ._io import sha256_file

__all__ = ["COLUMNS", "verify", "verify_files"]

COLUMNS = [
    "dataset",
    "folder",
    "files",
    "ok",
    "missing",
    "mismatched",
    "docs_ok",
    "status",
    "licence",
]


def _status(path: Path, expected: str) -> str:
    if not path.is_file():
        return "missing"
    return "ok" if sha256_file(path) == expected else "mismatch"


def verify_files(
    name: str, data_dir: str | os.PathLike | None = None
) -> list[tuple[str, str]]:
    """``[(relpath, status), ...]`` for every registered data file of dataset ``name``
    (docs excluded).

    ``status`` is ``"ok"``, ``"missing"`` or ``"mismatch"`` (sha256 differs from the
    registry). When the dataset folder is absent every file is ``"missing"``. Raises
    :class:`KeyError` for an unknown name and :class:`DatasetNotFoundError` when the
    data root (``data_dir`` or ``$MINILIB_DATA``) is not set or not a folder.
    """
    ds = registry.get(name)
    folder = registry.data_root(data_dir, dataset=name) / ds.folder
    sums = ds.checksums
    return [(rel, _status(folder / rel, sums[rel])) for rel in ds.files]


def _docs_ok(ds: registry.Dataset, folder: Path) -> bool:
    sums = ds.checksums
    return all(
        not (folder / doc).is_file() or sha256_file(folder / doc) == sums[doc]
        for doc in ds.docs
        if doc in sums
    )


def verify(
    names: Iterable[str] | str | None = None, data_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Check datasets ``names`` (all registry datasets when None) under the data root.

    Returns a DataFrame with one row per dataset, in the order asked, and the columns
    ``dataset``, ``folder`` (relative to the root), ``files`` (registered data files),
    ``ok``, ``missing``, ``mismatched`` (counts), ``docs_ok`` (False only when a doc
    such as SOURCE.md is present and differs; a missing doc is fine), ``status``
    (``"ok"``, ``"missing folder"`` or ``"N missing, M mismatched"``) and ``licence``.
    Raises :class:`KeyError` for an unknown name and :class:`DatasetNotFoundError` when
    the data root is not set or not a folder.
    """
    if names is None:
        names = list(registry.DATASETS)
    elif isinstance(names, str):
        names = [names]
    else:
        names = list(names)
    datasets = [registry.get(n) for n in names]
    root = registry.data_root(data_dir)
    rows = []
    for ds in datasets:
        folder = root / ds.folder
        n_files = len(ds.files)
        if not folder.is_dir():
            rows.append(
                [
                    ds.name,
                    ds.folder,
                    n_files,
                    0,
                    n_files,
                    0,
                    True,
                    "missing folder",
                    ds.licence,
                ]
            )
            continue
        statuses = [s for _, s in verify_files(ds.name, root)]
        ok = statuses.count("ok")
        missing = statuses.count("missing")
        mismatched = statuses.count("mismatch")
        status = (
            "ok" if ok == n_files else f"{missing} missing, {mismatched} mismatched"
        )
        rows.append(
            [
                ds.name,
                ds.folder,
                n_files,
                ok,
                missing,
                mismatched,
                _docs_ok(ds, folder),
                status,
                ds.licence,
            ]
        )
    return pd.DataFrame(rows, columns=COLUMNS)
