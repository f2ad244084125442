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
import os
import tarfile
import tempfile
import threading
import zipfile
import zlib
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import registry
from ._archives import _copy_member, _members
from ._download import _atomic_write, _Cancelled, _is_correct, _Net, _Sink, _stream
from ._io import sha256_file
from .errors import (
    ChecksumMismatchError,
    DataError,
    DatasetNotFoundError,
)
from .registry import Dataset
from .sources import (
    RemoteArchive,
    RemoteFiles,
    archive_local_path,
    remote_url,
    source_covers,
)

__all__ = ["FetchReport", "archive_local_path", "fetch", "remote_url", "source_covers"]


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


# ------------------------------------------------------------------------------------
# atomic writes


# --------------------------------------------------------------------------------------
# network


# --------------------------------------------------------------------------------------
# archives


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
