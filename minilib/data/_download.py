"""Streaming one URL into a checked file: the atomic write, the network settings, the
retry rules and the stream itself (used by :mod:`minilib.data.fetch`).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import _io
from ._io import sha256_file
from .errors import ChecksumMismatchError, DownloadError

_CHUNK = 1 << 16


_USER_AGENT = "minilib-data-fetch/1.0 (+python urllib)"


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
