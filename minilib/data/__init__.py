"""The data layer: a registry of every dataset of the book and safe loaders for each.

The data root is ``$MINILIB_DATA`` (or ``data_dir=`` on any call). Every loader checks the sha256 of the
files it reads against the registry and fails with a clear error instead of returning a half result.

Command line: ``python -m minilib.data verify`` checks every file; ``python -m minilib.data fetch NAME``
downloads a dataset for readers who have the internet.
"""

from .errors import (
    ChecksumMismatchError,
    DataError,
    DatasetNotFoundError,
    MalformedDataError,
    UnsafeArchiveError,
    UnsafePickleError,
)
from .registry import DATASETS, Dataset, data_root, get, locate

__all__ = [
    "DATASETS",
    "ChecksumMismatchError",
    "DataError",
    "Dataset",
    "DatasetNotFoundError",
    "MalformedDataError",
    "UnsafeArchiveError",
    "UnsafePickleError",
    "data_root",
    "get",
    "locate",
]
