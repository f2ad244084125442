"""Archives without surprises: every member of a downloaded .tar or .zip is checked (no
absolute paths, no ``..``, no links or device files, nothing outside the dataset folder)
before any is extracted (used by :mod:`minilib.data.fetch`).
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ._download import _Sink
from .errors import DataError, UnsafeArchiveError
from .sources import RemoteArchive, archive_local_path

_UNSAFE_TAR_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
}


def _unsafe_name(name: str) -> str | None:
    """Why an archive member name is unsafe (absolute, drive, ``..``), or None."""
    if (
        name.startswith(("/", "\\"))
        or PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).drive
    ):
        return "an absolute path"
    if any(part == ".." for part in re.split(r"[\\/]+", name)):
        return "a '..' component"
    return None


@dataclass(frozen=True)
class _Member:
    name: str  # path in the archive
    local: str  # mapped local path (relative to the dataset folder)
    handle: object  # tarfile.TarInfo or zipfile.ZipInfo


def _members(
    archive: Path, source: RemoteArchive, folder: Path, dataset: str, url: str
):
    """Check every member and return (kind, open archive, mapped regular-file members);
    raise if unsafe.
    """
    opened = None
    try:
        if tarfile.is_tarfile(archive):
            kind, opened = "tar", tarfile.open(archive, "r:*")  # closed by the caller
            entries = [(m.name, m) for m in opened.getmembers()]
        elif zipfile.is_zipfile(archive):
            kind, opened = "zip", zipfile.ZipFile(archive)  # closed by the caller
            entries = [(i.filename, i) for i in opened.infolist()]
        else:
            raise DataError(
                f"dataset {dataset!r}: {url} is neither a tar (.tar, .tar.gz, .tgz) "
                "nor a zip archive"
            )
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
        if opened is not None:
            opened.close()
        raise DataError(
            f"dataset {dataset!r}: the archive {url} is corrupt: {type(e).__name__}: "
            f"{e}"
        ) from None
    root = folder.resolve()
    mapped: list[_Member] = []
    try:
        for name, info in entries:
            clean = name[2:] if name.startswith("./") else name
            why = _unsafe_name(name)
            local = archive_local_path(source, clean)
            if why is None and local is not None:
                if kind == "tar":
                    if info.type in _UNSAFE_TAR_KINDS:
                        why = _UNSAFE_TAR_KINDS[info.type]
                    elif not (info.isfile() or info.isdir()):
                        why = f"an unsupported member type {info.type!r}"
                else:
                    # 0: no Unix type recorded
                    kind_bits = stat.S_IFMT(info.external_attr >> 16)
                    if kind_bits == stat.S_IFLNK:
                        why = "a symbolic link"
                    elif kind_bits not in (0, stat.S_IFREG, stat.S_IFDIR):
                        why = "a device, FIFO or socket"
                if why is None and _unsafe_name(local):
                    why = f"mapped to {local!r}, " + _unsafe_name(local)
                if why is None and not (root / local).resolve().is_relative_to(root):
                    why = f"mapped to {local!r}, which resolves outside {root}"
            if why is not None:
                raise UnsafeArchiveError(
                    f"dataset {dataset!r}: refusing the archive {url}: member {name!r} "
                    f"is {why}; "
                    f"nothing was extracted"
                )
            is_file = info.isfile() if kind == "tar" else not info.is_dir()
            if local is not None and is_file and local and not local.endswith("/"):
                mapped.append(_Member(name, local, info))
    except BaseException:
        opened.close()
        raise
    return kind, opened, mapped


def _copy_member(kind: str, opened, member: _Member) -> Callable[[_Sink], None]:
    def write(sink: _Sink) -> None:
        src = (
            opened.extractfile(member.handle)
            if kind == "tar"
            else opened.open(member.handle)
        )
        with src:
            while block := src.read(1 << 20):
                sink.write(block)

    return write
