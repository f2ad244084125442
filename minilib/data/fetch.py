"""Download a registry dataset into the data root, check every byte, and rebuild the
curated files.

For readers who have the internet: ``python -m minilib.data fetch NAME`` (or
:func:`fetch`) fills ``<data root>/<folder>/`` with exactly the files of the registry.

- :class:`~minilib.data.registry.RemoteFiles` sources are downloaded one file per
  request, concurrently;
- :class:`~minilib.data.registry.RemoteArchive` sources are downloaded once, every
  member is checked (no absolute paths, no ``..``, no links or device files, nothing
  outside the dataset folder) before any is extracted, and only the registered files are
  written;
- the dataset's ``builders`` then rebuild the few files the mirror's curators wrote
  themselves.

Every file is written to a temporary file next to its destination, its sha256 compared
with the registry, and only then moved into place, so a failure (network, checksum,
unsafe archive) never leaves a partial file behind. Requests time out, and connection
errors, time-outs, truncated bodies and HTTP 5xx/429 are retried with exponential
back-off; other HTTP errors fail at once with a :class:`DownloadError`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import http.client
import os
import re
import stat
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from tqdm import tqdm

from . import _io, registry
from ._io import sha256_file
from .errors import (
    ChecksumMismatchError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    UnsafeArchiveError,
)
from .registry import Dataset, RemoteArchive, RemoteFiles

__all__ = ["FetchReport", "archive_local_path", "fetch", "remote_url", "source_covers"]

_CHUNK = 1 << 16
_USER_AGENT = "minilib-data-fetch/1.0 (+python urllib)"


@dataclass
class FetchReport:
    """What :func:`fetch` did to one dataset.

    ``downloaded``: files written from a source (one by one or from an archive);
    ``skipped``: files that were already present with the right sha256; ``built``: files
    written by a builder; ``missing``: registered files that no source or builder
    produced (empty after a successful fetch). All are sorted lists of paths relative to
    ``folder``.
    """

    dataset: str
    folder: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts of downloaded, skipped, built and missing files, and the
        folder.
        """
        text = (
            f"{self.dataset}: {len(self.downloaded)} downloaded, {len(self.skipped)} "
            "already present, "
            f"{len(self.built)} built"
        )
        if self.missing:
            text += f", {len(self.missing)} MISSING"
        return f"{text} -> {self.folder}"


# -------------------------------------------------------------------------------------
# source mapping


def remote_url(source: RemoteFiles, relpath: str) -> str | None:
    """The URL that ``source`` downloads the registered file ``relpath`` from, or None
    if it does not match.

    ``relpath`` matches when it starts with ``source.local_prefix`` and matches
    ``source.pattern`` (fnmatch, case-sensitive, on the whole local path). The remote
    path is ``remote_prefix + rest + remote_suffix`` (``rest``: ``relpath`` after the
    local prefix), percent-quoted into the URL template.
    """
    if not relpath.startswith(source.local_prefix) or not fnmatch.fnmatchcase(
        relpath, source.pattern
    ):
        return None
    remote = (
        source.remote_prefix
        + relpath[len(source.local_prefix) :]
        + source.remote_suffix
    )
    return source.url_template.format(path=urllib.parse.quote(remote))


def archive_local_path(source: RemoteArchive, member: str) -> str | None:
    """The local path of archive member ``member`` under the first matching ``members``
    prefix, else None.
    """
    for archive_prefix, local_prefix in source.members:
        if member.startswith(archive_prefix):
            return local_prefix + member[len(archive_prefix) :]
    return None


def source_covers(source: RemoteFiles | RemoteArchive, relpath: str) -> bool:
    """Whether ``source`` can produce the registered file ``relpath``.

    A :class:`RemoteFiles` covers the files :func:`remote_url` maps; a
    :class:`RemoteArchive` covers every path equal to, or starting with, one of its
    local prefixes (whether the archive really holds the member is only known after
    downloading it).
    """
    if isinstance(source, RemoteFiles):
        return remote_url(source, relpath) is not None
    return any(
        relpath == local or relpath.startswith(local) for _, local in source.members
    )


# ------------------------------------------------------------------------------------
# atomic writes


class _Sink:
    """A temporary file plus the running sha256 of what was written to it; ``reset``
    starts over.
    """

    def __init__(self, f: BinaryIO, dest: str):
        self._f = f
        self.dest = dest  # the destination file, for error messages
        self._h = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._f.write(data)
        self._h.update(data)
        self.size += len(data)

    def reset(self) -> None:
        self._f.seek(0)
        self._f.truncate()
        self._h = hashlib.sha256()
        self.size = 0

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _atomic_write(
    dest: Path, write: Callable[[_Sink], None], expected: str, dataset: str
) -> None:
    """Write ``dest`` through a temporary file in its folder; check its sha256; move it
    into place.

    On any failure (including a checksum mismatch, raised as
    :class:`ChecksumMismatchError`) the temporary file is deleted and ``dest`` is left
    as it was.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.part-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            sink = _Sink(f, str(dest))
            write(sink)
        actual = sink.hexdigest()
        if actual != expected:
            raise ChecksumMismatchError(dataset, dest, expected, actual)
        # mkstemp creates 0600; a dataset file is meant to be readable by all
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _io.remember_sha256(dest, actual)


def _is_correct(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_file(path) == expected


# --------------------------------------------------------------------------------------
# network


class _Cancelled(Exception):
    """Another download failed; this one stops early (and its temporary file is
    removed).
    """


class _Incomplete(Exception):
    """The body ended before Content-Length bytes arrived."""


@dataclass(frozen=True)
class _Net:
    dataset: str
    timeout: float
    retries: int
    backoff: float
    stop: threading.Event


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return f"timed out after {timeout:g} s (timeout={timeout:g} s)"
        return f"cannot connect: {reason}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s without data (timeout={timeout:g} s)"
    if isinstance(exc, _Incomplete | http.client.IncompleteRead):
        return f"incomplete body: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(
        exc,
        urllib.error.URLError
        | TimeoutError
        | ConnectionError
        | http.client.HTTPException
        | _Incomplete,
    )


def _stream(
    url: str, sink: _Sink, net: _Net, on_bytes: Callable[[int], None] | None = None
) -> None:
    """Download ``url`` into ``sink``, retrying transient failures; raises DownloadError
    at the end.
    """
    attempts = net.retries + 1
    for attempt in range(attempts):
        if net.stop.is_set():
            raise _Cancelled
        sink.reset()
        try:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=net.timeout) as resp:
                length = resp.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                while block := resp.read(_CHUNK):
                    if net.stop.is_set():
                        raise _Cancelled
                    sink.write(block)
                    if on_bytes is not None:
                        on_bytes(len(block))
                if expected is not None and sink.size != expected:
                    raise _Incomplete(
                        f"received {sink.size} of {expected} bytes (Content-Length)"
                    )
            return
        except _Cancelled:
            raise
        except Exception as exc:  # classified just below
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            if not _retryable(exc):
                hint = ""
                if isinstance(exc, urllib.error.HTTPError) and exc.code in (
                    403,
                    404,
                    410,
                ):
                    hint = " (the file is gone or moved upstream; not retried)"
                raise DownloadError(
                    net.dataset,
                    url,
                    sink.dest,
                    _describe(exc, net.timeout) + hint,
                    attempt + 1,
                ) from None
            if attempt == attempts - 1:
                raise DownloadError(
                    net.dataset, url, sink.dest, _describe(exc, net.timeout), attempts
                ) from None
            if net.stop.wait(net.backoff * 2**attempt):
                raise _Cancelled from None


# --------------------------------------------------------------------------------------
# archives

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


# --------------------------------------------------------------------------------------
# the fetch


def _target_root(ds: Dataset, data_dir: str | os.PathLike | None) -> Path:
    if data_dir is None:
        env = os.environ.get(registry.ENV_VAR)
        if not env:
            # raises the registry's clear error
            registry.data_root(None, dataset=ds.name)
        data_dir = env
    root = Path(data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _progress(progress: bool, **kwargs) -> tqdm:
    return tqdm(disable=not progress, leave=False, dynamic_ncols=True, **kwargs)


def _download_files(
    jobs: list[tuple[str, str]],
    folder: Path,
    sums: dict[str, str],
    net: _Net,
    workers: int,
    progress: bool,
) -> None:
    """Download ``(relpath, url)`` jobs concurrently; on the first failure stop the
    others and raise it.
    """

    def one(rel: str, url: str) -> None:
        dest = folder / rel

        try:
            _atomic_write(
                dest, lambda sink: _stream(url, sink, net), sums[rel], net.dataset
            )
        except ChecksumMismatchError as e:
            e.args = (f"{e}\n  (downloaded from {url})",)
            raise

    if not jobs:
        return
    with (
        _progress(
            progress, total=len(jobs), unit="file", desc=f"fetch {net.dataset}"
        ) as bar,
        ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="minilib-fetch"
        ) as pool,
    ):
        pending = {pool.submit(one, rel, url) for rel, url in jobs}
        error: BaseException | None = None
        try:
            while pending and error is None:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    exc = fut.exception()
                    if (
                        exc is not None
                        and not isinstance(exc, _Cancelled)
                        and error is None
                    ):
                        error = exc
                    bar.update(1)
        except BaseException:
            # KeyboardInterrupt: let the workers remove their temporary files
            net.stop.set()
            raise
        if error is not None:
            net.stop.set()
            for fut in pending:
                fut.cancel()
            raise error


def _download_archive(
    src: RemoteArchive,
    folder: Path,
    wanted: dict[str, str],
    net: _Net,
    progress: bool,
    force: bool,
) -> tuple[list[str], list[str]]:
    """Download one archive, check it, extract the registered files among ``wanted``
    ({relpath: sha256}).

    Returns (written, skipped) relative paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".archive.part-", dir=folder)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as f,
            _progress(
                progress,
                unit="B",
                unit_scale=True,
                desc=f"fetch {net.dataset} (archive)",
            ) as bar,
        ):
            sink = _Sink(f, f"{folder} (temporary archive)")
            _stream(src.url, sink, net, on_bytes=bar.update)
        digest = sink.hexdigest()
        if src.sha256 is not None and digest != src.sha256:
            err = ChecksumMismatchError(net.dataset, tmp, src.sha256, digest)
            err.args = (str(err).replace(f"for {tmp}", f"for the archive {src.url}"),)
            raise err
        kind, opened, members = _members(tmp, src, folder, net.dataset, src.url)
        written, skipped = [], []
        with opened:
            for m in members:
                if m.local not in wanted:
                    continue  # never write unregistered files
                dest = folder / m.local
                if not force and _is_correct(dest, wanted[m.local]):
                    skipped.append(m.local)
                    continue
                try:
                    _atomic_write(
                        dest,
                        _copy_member(kind, opened, m),
                        wanted[m.local],
                        net.dataset,
                    )
                except ChecksumMismatchError as e:
                    e.args = (f"{e}\n  (member {m.name!r} of {src.url})",)
                    raise
                except (
                    tarfile.TarError,
                    zipfile.BadZipFile,
                    EOFError,
                    zlib.error,
                ) as e:
                    raise DataError(
                        f"dataset {net.dataset!r}: cannot read member {m.name!r} of "
                        f"the archive {src.url}: "
                        f"{type(e).__name__}: {e}"
                    ) from None
                written.append(m.local)
        return written, skipped
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fetch(
    dataset: str | Dataset,
    data_dir: str | os.PathLike | None = None,
    *,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    workers: int = 8,
    force: bool = False,
    progress: bool = True,
) -> FetchReport:
    """Download dataset ``dataset`` (a registry name or a :class:`Dataset`) into ``<data
    root>/<folder>/``.

    The data root is ``data_dir``, else ``$MINILIB_DATA`` (created when it does not
    exist); with neither, the registry's :class:`DatasetNotFoundError` is raised. Files
    already present with the right sha256 are skipped unless ``force``. ``timeout``
    (seconds) applies to every connection and read; transient failures (connection
    errors, time-outs, truncated bodies, HTTP 5xx and 429) are retried ``retries`` more
    times after ``backoff * 2**attempt`` seconds. ``workers`` files download at once.
    After the sources, the dataset's builders write their missing files, in order; then
    the whole dataset is verified.

    Returns a :class:`FetchReport`. Raises :class:`DownloadError` (a download failed for
    good), :class:`ChecksumMismatchError` (bytes differ from the registry; nothing is
    kept), :class:`UnsafeArchiveError` (an archive member is absolute, has ``..``, is a
    link or device, or would land outside the folder; nothing of that archive is
    written), :class:`DatasetNotFoundError` (a registered file was produced by no
    source), or :class:`KeyError` for an unknown name.
    """
    ds = registry.get(dataset) if isinstance(dataset, str) else dataset
    folder = _target_root(ds, data_dir) / ds.folder
    sums = ds.checksums
    data_files = [rel for rel in ds.files if rel not in ds.builders]
    report = FetchReport(ds.name, folder)
    net = _Net(
        ds.name, float(timeout), max(0, int(retries)), float(backoff), threading.Event()
    )

    # Assign each file to the first source that covers it.
    assigned: set[str] = set()
    file_jobs: list[tuple[str, str]] = []
    archive_jobs: list[tuple[RemoteArchive, dict[str, str]]] = []
    for src in ds.sources:
        if isinstance(src, RemoteFiles):
            for rel in data_files:
                if rel in assigned:
                    continue
                url = remote_url(src, rel)
                if url is None:
                    continue
                assigned.add(rel)
                if not force and _is_correct(folder / rel, sums[rel]):
                    report.skipped.append(rel)
                else:
                    file_jobs.append((rel, url))
        else:
            wanted = {
                rel: sums[rel]
                for rel in data_files
                if rel not in assigned and source_covers(src, rel)
            }
            assigned.update(wanted)
            if not force and all(
                _is_correct(folder / rel, digest) for rel, digest in wanted.items()
            ):
                report.skipped.extend(wanted)
            else:
                archive_jobs.append((src, wanted))

    try:
        _download_files(file_jobs, folder, sums, net, workers, progress)
        report.downloaded.extend(rel for rel, _ in file_jobs)
        for src, wanted in archive_jobs:
            written, skipped = _download_archive(
                src, folder, wanted, net, progress, force
            )
            report.downloaded.extend(written)
            report.skipped.extend(skipped)
    finally:
        net.stop.set()

    for rel, build in ds.builders.items():
        if rel not in sums:
            raise DataError(
                f"dataset {ds.name!r}: builder output {rel!r} has no registered sha256"
            )
        dest = folder / rel
        if not force and _is_correct(dest, sums[rel]):
            report.skipped.append(rel)
            continue
        try:
            data = build(folder)
        except DataError:
            raise
        except Exception as e:
            raise DataError(
                f"dataset {ds.name!r}: could not build {rel}: {type(e).__name__}: {e}"
            ) from e
        _atomic_write(
            dest, lambda sink, data=data: sink.write(data), sums[rel], ds.name
        )
        report.built.append(rel)

    # Verify everything, as `python -m minilib.data verify` would.
    mismatched = []
    for rel in ds.files:
        path = folder / rel
        if not path.is_file():
            report.missing.append(rel)
        elif sha256_file(path) != sums[rel]:
            mismatched.append(rel)
    for lst in (report.downloaded, report.skipped, report.built, report.missing):
        lst.sort()
    if mismatched:
        rel = mismatched[0]
        err = ChecksumMismatchError(
            ds.name, folder / rel, sums[rel], sha256_file(folder / rel)
        )
        err.report = report
        raise err
    if report.missing:
        shown = ", ".join(report.missing[:5]) + (
            " ..." if len(report.missing) > 5 else ""
        )
        err = DatasetNotFoundError(
            ds.name,
            folder / report.missing[0],
            f"{len(report.missing)} registered file(s) were produced by no source or "
            f"builder: {shown}. "
            f"The upstream source may have changed; see {ds.url}.",
            what="file after fetch",
        )
        err.report = report
        raise err
    return report
