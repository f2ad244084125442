"""Safe, checked readers shared by every dataset module.

- :func:`sha256_file` hashes a file once per (size, mtime) and remembers the digest;
- :func:`load_numpy_pickle` reads a pickle that may hold numpy arrays and nothing else;
- :func:`read_csv_checked` reads a CSV with declared column kinds and, when a row breaks
  them, names the file and the line;
- :func:`read_json_checked` reads JSON and names the line of a syntax error.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import MalformedDataError, UnsafePickleError

_HASH_CACHE: dict[tuple, str] = {}


def _cache_key(p: Path) -> tuple:
    st = p.stat()
    return (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def remember_sha256(path: Path | str, digest: str) -> None:
    """Record the digest of a file just written (and hashed while writing), so it is not
    read again.
    """
    _HASH_CACHE[_cache_key(Path(path))] = digest


def sha256_file(path: Path | str, *, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, cached by (path, size, mtime, inode, ctime) for
    the life of the process.

    A file replaced through a rename (as every download here is) gets a new inode, so it
    is hashed again.
    """
    p = Path(path)
    key = _cache_key(p)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


# --------------------------------------------------------------------------------------
# pickles


def _numpy_multiarray():
    # numpy >= 2 keeps the implementation in numpy._core; old pickles name numpy.core
    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    return multiarray


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_multiarray()._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): lambda: (
        _numpy_multiarray()._reconstruct
    ),
    # protocol 5 pickles rebuild an array from its raw bytes; protocol 2 encodes those
    # bytes through _codecs
    ("numpy.core.numeric", "_frombuffer"): lambda: _numpy_numeric()._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): lambda: _numpy_numeric()._frombuffer,
    ("_codecs", "encode"): lambda: _latin1_encode,
}


def _numpy_numeric():
    try:
        from numpy._core import numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import numeric
    return numeric


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it (text to bytes), restricted to
    text codecs.
    """
    if not isinstance(text, str) or encoding not in (
        "latin1",
        "latin-1",
        "utf-8",
        "utf8",
    ):
        raise UnsafePickleError(
            f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) in a pickle"
        )
    return text.encode(encoding)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose only importable names rebuild numpy arrays; anything else is
    refused.
    """

    def find_class(self, module: str, name: str):
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f"refusing to unpickle {module}.{name}: only numpy arrays are allowed "
                "in this file"
            )
        return factory()


def _check_arrays_only(obj: Any, path: Path) -> None:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError(
                f"{path}: the pickled array has dtype object; only numeric arrays are "
                "allowed"
            )
        return
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, str | int):
                raise UnsafePickleError(
                    f"{path}: dictionary key of type {type(k).__name__} is not allowed"
                )
            _check_arrays_only(v, path)
        return
    if isinstance(obj, list | tuple):
        for v in obj:
            _check_arrays_only(v, path)
        return
    raise UnsafePickleError(
        f"{path}: the pickle holds a {type(obj).__name__}; only numpy arrays are "
        "allowed"
    )


def load_numpy_pickle(path: Path | str, *, encoding: str = "latin1") -> Any:
    """Unpickle a file that holds numpy arrays (alone, or in plain dicts and lists) and
    nothing else.

    ``encoding="latin1"`` reads arrays pickled under Python 2 (the Davis and KIBA ``Y``
    files). Any other global (a class, a function, ``os.system``) raises
    :class:`UnsafePickleError` before it is ever called.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        obj = _NumpyOnlyUnpickler(io.BytesIO(data), encoding=encoding).load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{p}: {e}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
    ) as e:
        raise MalformedDataError(
            p, f"not a readable numpy pickle ({type(e).__name__}: {e})"
        ) from None
    _check_arrays_only(obj, p)
    return obj


# --------------------------------------------------------------------------------------
# CSV

_KINDS = {"int", "float", "str"}


def _check_value(kind: str, value: str, nullable: bool) -> str | None:
    """Return why ``value`` is not of ``kind`` (None when it is)."""
    if value == "":
        return None if (nullable or kind == "str") else "empty value"
    if kind == "int":
        try:
            int(value)
        except ValueError:
            try:  # "9.0" style integers written by pandas from float columns
                f = float(value)
            except ValueError:
                return f"{value!r} is not an integer"
            if not f.is_integer():
                return f"{value!r} is not an integer"
    elif kind == "float":
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number"
        if math.isinf(number) or (math.isnan(number) and not nullable):
            return f"{value!r} is not a finite number"
    return None


def _find_bad_row(
    path: Path, columns: Mapping[str, str], header: bool, nullable: set[str]
) -> MalformedDataError:
    names = list(columns)
    with open(path, newline="", encoding="utf-8", errors="strict") as f:
        reader = csv.reader(f)
        if header:
            try:
                head = next(reader)
            except StopIteration:
                return MalformedDataError(path, "the file is empty (no header)", line=1)
            missing = [c for c in names if c not in head]
            if missing:
                return MalformedDataError(
                    path, f"header lacks the columns {missing}", line=1
                )
            index = [head.index(c) for c in names]
            width = len(head)
        else:
            index = list(range(len(names)))
            width = len(names)
        for row in reader:
            line = reader.line_num
            if len(row) != width:
                return MalformedDataError(
                    path, f"expected {width} fields, found {len(row)}", line=line
                )
            for name, i in zip(names, index, strict=True):
                why = _check_value(columns[name], row[i], name in nullable)
                if why:
                    return MalformedDataError(
                        path, f"column {name!r}: {why}", line=line
                    )
    return MalformedDataError(
        path, "pandas could not parse the file, but no single bad row was found"
    )


def read_csv_checked(
    path: Path | str,
    columns: Mapping[str, str],
    *,
    header: bool = True,
    nullable: set[str] | frozenset[str] = frozenset(),
    read_kwargs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read a CSV whose columns have declared kinds ("int", "float" or "str").

    With ``header=False`` the file has exactly these columns, in this order. Values of
    non-nullable int and float columns must be present and finite (nullable ones may be
    empty or NaN, never infinite). A row with the wrong number of fields or a value of
    the wrong kind raises :class:`MalformedDataError` naming the file and its 1-based
    line (the header is line 1). Returns the frame with the declared columns (and, with
    a header, any others the file has).
    """
    p = Path(path)
    for kind in columns.values():
        if kind not in _KINDS:
            raise ValueError(
                f"unknown column kind {kind!r}; use one of {sorted(_KINDS)}"
            )
    nullable = set(nullable)
    dtype = {c: ("string" if k == "str" else "float64") for c, k in columns.items()}
    kwargs = dict(read_kwargs or {})
    try:
        if header:
            df = pd.read_csv(
                p, dtype=dtype, keep_default_na=False, na_values=[""], **kwargs
            )
        else:
            df = pd.read_csv(
                p,
                header=None,
                names=list(columns),
                dtype=dtype,
                keep_default_na=False,
                na_values=[""],
                **kwargs,
            )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        raise _find_bad_row(p, columns, header, nullable) from None
    missing = [c for c in columns if c not in df.columns]
    if missing or (not header and df.shape[1] != len(columns)):
        raise _find_bad_row(p, columns, header, nullable)
    for c, kind in columns.items():
        if kind == "str":
            continue
        col = df[c]
        bad = col.isna() if c not in nullable else pd.Series(False, index=col.index)
        bad |= col.isin([np.inf, -np.inf])
        if kind == "int":
            bad |= col.notna() & (col != np.floor(col))
        if bad.any():
            raise _find_bad_row(p, columns, header, nullable)
        if kind == "int":
            df[c] = col.astype(
                "Int64" if c in nullable and col.isna().any() else "int64"
            )
    return df


def read_json_checked(path: Path | str) -> Any:
    """Parse a JSON file; a syntax error names the file and line."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise MalformedDataError(
            p, f"invalid JSON: {e.msg} (column {e.colno})", line=e.lineno
        ) from None
    except UnicodeDecodeError as e:
        raise MalformedDataError(p, f"not UTF-8 text ({e})") from None
