"""Errors of the data layer. Each one says what is wrong, where, and what to do next.

Every loader in :mod:`minilib.data` raises one of these rather than returning a half
result.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Base class of every error raised by :mod:`minilib.data`."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """The data root, a dataset folder or one of its files is missing.

    The message names the dataset, the missing ``what`` and its path, then how to get
    it; ``statement`` replaces the "... not found: path" part when the problem is better
    said another way.
    """

    def __init__(
        self,
        dataset: str,
        path: Path | str,
        how_to_get: str,
        what: str = "file",
        statement: str | None = None,
    ):
        self.dataset = dataset
        self.path = Path(path)
        self.how_to_get = how_to_get
        head = statement or f"{what} not found: {self.path}"
        super().__init__(f"dataset {dataset!r}: {head}\n  {how_to_get}")


class ChecksumMismatchError(DataError):
    """A file's sha256 differs from the registry's."""

    def __init__(self, dataset: str, path: Path | str, expected: str, actual: str):
        self.dataset = dataset
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"dataset {dataset!r}: checksum mismatch for {self.path}\n"
            f"  expected sha256 {expected}\n  actual   sha256 {actual}\n"
            f"  The file is corrupt or a different version; fetch it again with "
            f"`python -m minilib.data fetch {dataset}`."
        )


class MalformedDataError(DataError, ValueError):
    """A file parses but a row or a value breaks the documented format."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else f"{self.path}"
        super().__init__(f"malformed data in {where}: {reason}")


class UnsafePickleError(DataError):
    """A pickle asks for a Python object other than a numpy array; it is refused, never
    executed.
    """


class UnsafeArchiveError(DataError):
    """An archive member would be written outside the destination folder (path
    traversal) or is a link.
    """


class DownloadError(DataError):
    """A download failed for good (after the retries): names the dataset, the URL, the
    local file and the cause.
    """

    def __init__(
        self, dataset: str, url: str, path: Path | str, cause: str, attempts: int = 1
    ):
        self.dataset = dataset
        self.url = url
        self.path = Path(path)
        self.cause = cause
        self.attempts = attempts
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(
            f"dataset {dataset!r}: could not download {url}\n"
            f"  to {self.path}\n"
            f"  last error ({tries}): {cause}\n"
            f"  Check the network and run `python -m minilib.data fetch {dataset}` "
            "again, or download the file "
            f"by hand and put it at that path."
        )
