"""The registry: every dataset of the book, its files and their sha256, licence,
citation and sources.

A dataset lives in ``$MINILIB_DATA/<folder>/`` in its original layout. The sha256 of
every file is in ``minilib/data/checksums/<name>.sha256`` (written from the data mirror
and committed). Each dataset records

- ``url``: the official home or download page, for people;
- ``sources``: where ``python -m minilib.data fetch NAME`` downloads the exact bytes
  from. Where the official host serves the very files (COCO images), it is used;
  otherwise the pinned commit of the repository that the file was taken from (see the
  dataset's ``SOURCE.md``);
- ``builders``: the few small files that the mirror's curators wrote themselves (split
  lists, a manifest, label-order lists); ``fetch`` rebuilds them byte for byte from the
  other files.

Used by every chapter through the loaders; :func:`locate` is the one door to a file.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from . import catalogue
from ._io import sha256_file
from .errors import ChecksumMismatchError, DatasetNotFoundError
from .sources import RemoteArchive, RemoteFiles, Source

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "Dataset",
    "RemoteArchive",
    "RemoteFiles",
    "Source",
    "data_root",
    "get",
    "locate",
    "matching",
]

ENV_VAR = "MINILIB_DATA"


@dataclass(frozen=True)
class Dataset:
    """One dataset folder under the data root.

    ``name`` is the registry key, ``folder`` its path under the root, ``bibkeys`` its
    entries in ``book/references.bib``. ``docs`` are documentation files
    (``SOURCE.md``): checked when present, never required, never downloaded.
    """

    name: str
    folder: str
    title: str
    licence: str
    citation: str
    bibkeys: tuple[str, ...]
    url: str
    sources: tuple[Source, ...]
    builders: Mapping[str, Callable[[Path], bytes]] = field(
        default_factory=dict, compare=False, hash=False
    )
    docs: tuple[str, ...] = ("SOURCE.md",)

    @property
    def checksums(self) -> dict[str, str]:
        """``{relative path: sha256}`` for every file of the dataset, docs included."""
        return _read_checksums(self.name)

    @property
    def files(self) -> list[str]:
        """Relative paths of the data files (docs excluded), sorted."""
        return sorted(p for p in self.checksums if p not in self.docs)

    def how_to_get(self) -> str:
        """One sentence for error messages: where the dataset is expected and how to
        obtain it.
        """
        return (
            f"Set {ENV_VAR} to the folder that holds '{self.folder}/' (the book's "
            "commands use ../shared/data "
            "when it exists), or download it with `python -m minilib.data fetch "
            f"{self.name}` "
            f"(official page: {self.url})."
        )

    def root(self, data_dir: str | os.PathLike | None = None) -> Path:
        """The dataset folder; raises :class:`DatasetNotFoundError` when it is
        missing.
        """
        base = data_root(data_dir, dataset=self.name)
        folder = base / self.folder
        if not folder.is_dir():
            raise DatasetNotFoundError(
                self.name, folder, self.how_to_get(), what="dataset folder"
            )
        return folder


@cache
def _read_checksums(name: str) -> dict[str, str]:
    text = (
        resources.files("minilib.data")
        .joinpath("checksums")
        .joinpath(f"{name}.sha256")
        .read_text()
    )
    out = {}
    for line in text.splitlines():
        digest, rel = line.split("  ", 1)
        out[rel] = digest
    return out


def data_root(
    data_dir: str | os.PathLike | None = None, *, dataset: str = "(any)"
) -> Path:
    """The data root: ``data_dir`` when given, else ``$MINILIB_DATA``; it must be an
    existing folder.
    """
    if data_dir is None:
        env = os.environ.get(ENV_VAR)
        if not env:
            raise DatasetNotFoundError(
                dataset,
                f"${ENV_VAR}",
                f"Set {ENV_VAR} to the folder that holds the datasets (`make book` and "
                "`make test` use "
                f"../shared/data when it exists), or pass data_dir=...; "
                f"`python -m minilib.data fetch NAME` downloads a dataset.",
                statement=(
                    f"no data root: {ENV_VAR} is not set and no data_dir was given"
                ),
            )
        data_dir = env
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DatasetNotFoundError(
            dataset,
            root,
            f"The data root must be an existing folder; set {ENV_VAR} or data_dir to "
            "one.",
            what="data root",
        )
    return root


def get(name: str) -> Dataset:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}"
        ) from None


def locate(
    name: str,
    *relpaths: str,
    data_dir: str | os.PathLike | None = None,
    verify: bool = True,
):
    """Return the path of each registered file ``relpaths`` of dataset ``name`` (one
    path for one name).

    Missing files raise :class:`DatasetNotFoundError` (dataset, path, how to get it);
    with ``verify`` each file's sha256 is compared with the registry and a difference
    raises :class:`ChecksumMismatchError` naming the file and both digests. With no
    ``relpaths`` the dataset folder is returned.
    """
    ds = get(name)
    root = ds.root(data_dir)
    if not relpaths:
        return root
    sums = ds.checksums
    out = []
    for rel in relpaths:
        if rel not in sums:
            raise KeyError(f"{rel!r} is not a registered file of dataset {name!r}")
        path = root / rel
        if not path.is_file():
            raise DatasetNotFoundError(name, path, ds.how_to_get())
        if verify:
            actual = sha256_file(path)
            if actual != sums[rel]:
                raise ChecksumMismatchError(name, path, sums[rel], actual)
        out.append(path)
    return out[0] if len(out) == 1 else out


def matching(name: str, pattern: str) -> list[str]:
    """Registered files of ``name`` whose relative path matches the fnmatch ``pattern``,
    sorted.
    """
    return [p for p in get(name).files if fnmatch.fnmatch(p, pattern)]


#: Every dataset of the book by name, built from :data:`minilib.data.catalogue.ENTRIES`.
DATASETS: dict[str, Dataset] = {e["name"]: Dataset(**e) for e in catalogue.ENTRIES}
