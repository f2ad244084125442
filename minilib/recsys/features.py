"""General pieces of a recommendation feature pipeline: vocabularies, normalisation,
causal counts and histories, and a split by time.

They work on any log with a user column, an item column and a time column;
:mod:`minilib.recsys.kuairand` assembles them for KuaiRand.

- :class:`Vocab`: categorical value -> index (0 = missing or out of vocabulary), fitted
  on the training split;
- :class:`Normalizer`: numeric columns -> optional ``log1p`` -> standardised with
  training statistics;
- :func:`causal_counts` and :func:`causal_history`: per-key counts, label sums and item
  sequences that only ever look at **strictly earlier** rows (same-time rows never see
  each other), vectorised (sort once, no loops over rows);
- :func:`time_split`: global cut points on time, so every test impression is later than
  every train impression.

Leakage rules, all tested: what is fitted is fitted on the training split only; every
causal feature of a row uses only rows with a strictly smaller time.

Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Normalizer",
    "Vocab",
    "causal_counts",
    "causal_history",
    "time_split",
]

# Rows per chunk of causal_history, so that the (rows, length) index temporaries stay
# around 32 MB.
_HISTORY_CHUNK_ELEMENTS = 4_000_000


# --------------------------------------------------------------------------------------
# Small array helpers
# --------------------------------------------------------------------------------------


def _as_object_array(values: Any) -> np.ndarray:
    """1-D object array of ``values`` (a Series, Index, array or any iterable); tuples
    stay single elements.
    """
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(
                f"expected a 1-D array of values, got shape {values.shape}"
            )
        return values.astype(object)
    return pd.Series(list(values), dtype=object).to_numpy()


def _as_1d(name: str, values: Any) -> np.ndarray:
    arr = (
        values.to_numpy()
        if isinstance(values, (pd.Series, pd.Index))
        else np.asarray(values)
    )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _sort_key(value: Any) -> tuple[str, str]:
    return (str(value), type(value).__name__)


# --------------------------------------------------------------------------------------
# Vocab
# --------------------------------------------------------------------------------------


class Vocab:
    """A categorical vocabulary: value -> index in ``1 .. len(self) - 1``; index 0 =
    missing or out of vocabulary.

    Build it with :meth:`fit` (on the training split only) or :meth:`from_values` (a
    fixed list, e.g. the domain names). ``values[i - 1]`` is the value of index ``i``;
    ``counts[i - 1]`` its count in the fitting data. Values are any hashable
    Python/numpy scalars or tuples; ``None``, ``NaN``, ``pd.NA`` and ``NaT`` are
    *missing* and always map to 0. Lookup is by hash equality (``3``, ``3.0`` and
    ``np.int64(3)`` are the same value). ``len(vocab)`` counts index 0 too, so it is the
    number of rows of an embedding table.

    Used by every recsys chapter (PEPNet, TWIN, TWIN-V2, Pyramid Mixer) through
    :func:`~minilib.recsys.kuairand.build_kuairand`.
    """

    def __init__(self, values: Iterable[Any] = (), counts: Iterable[int] | None = None):
        self.values: tuple[Any, ...] = tuple(values)
        self.counts: tuple[int, ...] = (
            tuple(int(c) for c in counts)
            if counts is not None
            else (0,) * len(self.values)
        )
        if len(self.counts) != len(self.values):
            raise ValueError(f"{len(self.values)} values but {len(self.counts)} counts")
        arr = (
            _as_object_array(self.values) if self.values else np.empty(0, dtype=object)
        )
        if len(arr) and pd.isna(arr).any():
            raise ValueError(
                "a vocabulary cannot contain a missing value (None/NaN/NA): missing "
                "always maps to 0"
            )
        self._index = pd.Index(arr, dtype=object, tupleize_cols=False)
        if not self._index.is_unique:
            raise ValueError("vocabulary values must be distinct")

    @classmethod
    def fit(cls, values: Any, min_count: int = 1) -> Vocab:
        """Fit on ``values`` (1-D: Series, array, list): keep the non-missing values
        seen at least ``min_count`` times.

        Index order is deterministic: by descending count, ties by ``str(value)`` (then
        the type name). A classmethod: ``Vocab.fit(train["video_id"])`` returns a new
        fitted vocabulary.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        arr = _as_object_array(values)
        counts = pd.Series(arr, dtype=object).value_counts(dropna=True, sort=False)
        counts = counts[counts >= min_count]
        pairs = sorted(
            zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True),
            key=lambda vc: (-vc[1], *_sort_key(vc[0])),
        )
        return cls([v for v, _ in pairs], [c for _, c in pairs])

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> Vocab:
        """A vocabulary with exactly ``values`` in the given order (index ``i + 1`` for
        ``values[i]``).
        """
        return cls(values)

    def transform(self, values: Any) -> np.ndarray:
        """Indices of ``values`` (1-D), ``int64`` of the same length; 0 for missing and
        unknown values.
        """
        arr = _as_object_array(values)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        idx = (
            self._index.get_indexer(
                pd.Index(arr, dtype=object, tupleize_cols=False)
            ).astype(np.int64)
            + 1
        )
        idx[pd.isna(arr)] = 0
        return idx

    def index(self, value: Any) -> int:
        """Index of one value (0 when missing or unknown)."""
        return int(self.transform([value])[0])

    def inverse(self, indices: Any) -> Any:
        """Values of ``indices`` (an int -> one value; an array -> an object array);
        index 0 -> ``None``.
        """
        if np.isscalar(indices):
            i = int(indices)
            if not 0 <= i < len(self):
                raise IndexError(
                    f"index {i} out of range for a vocabulary of size {len(self)}"
                )
            return None if i == 0 else self.values[i - 1]
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"indices outside 0..{len(self) - 1}")
        table = np.empty(len(self), dtype=object)
        table[0] = None
        table[1:] = _as_object_array(self.values) if self.values else table[1:]
        return table[idx]

    def __len__(self) -> int:
        return len(self.values) + 1

    def __contains__(self, value: Any) -> bool:
        return self.index(value) != 0

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocab)
            and self.values == other.values
            and self.counts == other.counts
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self.values[:5])
        more = ", ..." if len(self.values) > 5 else ""
        return f"Vocab(size={len(self)}, values=[{head}{more}])"


# --------------------------------------------------------------------------------------
# Normalizer
# --------------------------------------------------------------------------------------


class Normalizer:
    """Numeric columns -> float32 matrix: optional ``log1p``, then ``(x - mean) / std``
    with training statistics.

    ``mean``/``std`` are computed on the (log-transformed) non-missing training values
    with ``ddof=0`` (so the training output has mean 0 and standard deviation 1 exactly,
    up to float32); a ``std`` of 0 (a constant column) is replaced by 1 and an
    all-missing training column gets mean 0, std 1. Missing values (NaN/NA) become 0
    *after* standardising, i.e. the training mean; :attr:`n_missing_fit` and
    ``transform(..., return_missing=True)`` say how many there were. Log columns must be
    non-negative (a negative value raises :class:`ValueError`).

    Used by every recsys chapter (PEPNet, TWIN, TWIN-V2, Pyramid Mixer) through
    :func:`~minilib.recsys.kuairand.build_kuairand`.
    """

    def __init__(
        self,
        columns: Sequence[str],
        log_columns: Iterable[str],
        mean: np.ndarray,
        std: np.ndarray,
        n_missing_fit: Mapping[str, int] | None = None,
    ):
        self.columns: tuple[str, ...] = tuple(columns)
        self.log_columns: tuple[str, ...] = tuple(
            c for c in self.columns if c in set(log_columns)
        )
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.n_missing_fit: dict[str, int] = dict(
            n_missing_fit or {c: 0 for c in self.columns}
        )
        if self.mean.shape != (len(self.columns),) or self.std.shape != (
            len(self.columns),
        ):
            raise ValueError("mean and std need one entry per column")

    def _raw(
        self, frame: pd.DataFrame, columns: Sequence[str], log_columns: Iterable[str]
    ) -> np.ndarray:
        missing_cols = [c for c in columns if c not in frame.columns]
        if missing_cols:
            raise KeyError(f"columns {missing_cols} are not in the frame")
        out = np.empty((len(frame), len(columns)), dtype=np.float64)
        logs = set(log_columns)
        for j, c in enumerate(columns):
            x = pd.to_numeric(frame[c]).to_numpy(dtype=np.float64, na_value=np.nan)
            if c in logs:
                if np.any(x < 0):
                    raise ValueError(
                        f"log column {c!r} has negative values (min {np.nanmin(x)}); "
                        "log1p needs >= 0"
                    )
                x = np.log1p(x)
            out[:, j] = x
        return out

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        columns: Sequence[str],
        log_columns: Iterable[str] = (),
    ) -> Normalizer:
        """Fit on ``frame[columns]`` (the training rows); ``log_columns`` (a subset of
        ``columns``) get ``log1p``.

        A classmethod: ``Normalizer.fit(train, cols, log_cols)`` returns a new fitted
        normaliser.
        """
        columns = tuple(columns)
        log_columns = tuple(log_columns)
        unknown = [c for c in log_columns if c not in columns]
        if unknown:
            raise ValueError(
                f"log_columns {unknown} are not among columns {list(columns)}"
            )
        probe = cls(columns, log_columns, np.zeros(len(columns)), np.ones(len(columns)))
        x = probe._raw(frame, columns, log_columns)
        finite = ~np.isnan(x)
        n_ok = finite.sum(axis=0)
        mean = np.zeros(len(columns))
        std = np.ones(len(columns))
        for j in range(len(columns)):
            if n_ok[j]:
                col = x[finite[:, j], j]
                mean[j] = col.mean()
                s = col.std()
                std[j] = s if s > 0 else 1.0
        n_missing = {c: int(len(frame) - n_ok[j]) for j, c in enumerate(columns)}
        return cls(columns, log_columns, mean, std, n_missing)

    def transform(self, frame: pd.DataFrame, return_missing: bool = False):
        """``float32`` array (n, len(columns)) in column order; with ``return_missing``
        also ``{column: count}``.
        """
        x = self._raw(frame, self.columns, self.log_columns)
        missing = np.isnan(x)
        z = (x - self.mean) / self.std
        z[missing] = 0.0
        z = z.astype(np.float32)
        if return_missing:
            return z, {c: int(missing[:, j].sum()) for j, c in enumerate(self.columns)}
        return z

    def __repr__(self) -> str:
        columns, logs = list(self.columns), list(self.log_columns)
        return f"Normalizer(columns={columns}, log_columns={logs})"


# --------------------------------------------------------------------------------------
# Causal features
# --------------------------------------------------------------------------------------


def _causal_groups(
    keys: Any, times: Any, tiebreak: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort rows by (key, time[, tiebreak]); per sorted row: the start of its key group
    and of its (key, time) group.

    Returns ``order`` (sorted position -> original row), ``key_start`` and ``tie_start``
    (sorted positions). The rows of the same key strictly earlier than sorted row ``p``
    are exactly sorted rows ``key_start[p] .. tie_start[p] - 1``.
    """
    k = _as_1d("keys", keys)
    t = _as_1d("times", times)
    if len(k) != len(t):
        raise ValueError(f"keys and times differ in length: {len(k)} vs {len(t)}")
    if not np.issubdtype(t.dtype, np.number):
        raise ValueError(f"times must be numeric, got dtype {t.dtype}")
    if np.issubdtype(t.dtype, np.floating) and np.isnan(t).any():
        raise ValueError("times contain NaN")
    codes = (
        pd.factorize(k, use_na_sentinel=False)[0]
        if k.dtype == object or not np.issubdtype(k.dtype, np.integer)
        else k
    )
    order = np.lexsort((t, codes) if tiebreak is None else (tiebreak, t, codes))
    n = len(order)
    ks, ts = codes[order], t[order]
    pos = np.arange(n)
    new_key = np.ones(n, dtype=bool)
    new_key[1:] = ks[1:] != ks[:-1]
    new_tie = new_key.copy()
    new_tie[1:] |= ts[1:] != ts[:-1]
    key_start = np.maximum.accumulate(np.where(new_key, pos, 0)) if n else pos
    tie_start = np.maximum.accumulate(np.where(new_tie, pos, 0)) if n else pos
    return order, key_start, tie_start


def causal_counts(
    keys: Any, times: Any, values: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per row: how many rows with the same key have a strictly smaller time, and the
    sum of their ``values``.

    Args:
        keys: 1-D, any hashable dtype (user ids, video ids, ...), length n.
        times: 1-D numeric, length n (e.g. ``time_ms``); rows with equal key and time
            never count each other.
        values: optional (n,) or (n, k) numeric array (e.g. labels); summed over the
            earlier rows.

    Returns:
        ``counts`` int64 (n,) and ``sums`` float64 of the shape of ``values`` (``None``
        without values), aligned with the input rows (any input order). Vectorised: one
        sort and a cumulative sum.

    Used by :func:`~minilib.recsys.kuairand.build_kuairand` (previous impressions, click
    and long-view rates) for PEPNet, TWIN, TWIN-V2 and Pyramid Mixer.
    """
    order, key_start, tie_start = _causal_groups(keys, times)
    n = len(order)
    counts = np.empty(n, dtype=np.int64)
    counts[order] = tie_start - key_start
    if values is None:
        return counts, None
    v = np.asarray(values, dtype=np.float64)
    if v.shape[0] != n or v.ndim not in (1, 2):
        raise ValueError(
            f"values must have shape (n,) or (n, k) with n = {n}, got {v.shape}"
        )
    vs = v[order]
    csum = np.concatenate([np.zeros((1, *vs.shape[1:])), np.cumsum(vs, axis=0)], axis=0)
    sums = np.empty_like(v)
    sums[order] = csum[tie_start] - csum[key_start]
    return counts, sums


def causal_history(users: Any, times: Any, items: Any, length: int) -> np.ndarray:
    """The previous items of each row's user: ``int64`` array (n, length), oldest first,
    right-aligned, 0-padded.

    Row ``i`` holds ``items[j]`` for the rows ``j`` of the same user with ``times[j] <
    times[i]`` (strictly: rows at the same time never see each other, so a repeated
    impression is not its own history), the most recent last (ordered by time, earlier
    rows tied in time by item index, so the result does not depend on the input order),
    the latest ``length`` of them; fewer are left-padded with 0.

    Args:
        users: 1-D user keys (any hashable dtype), length n.
        times: 1-D numeric times (e.g. ``time_ms``), length n; the input may be in any
            order.
        items: 1-D int item indices (vocabulary indices of the history field), length
            n. Index 0 is the out-of-vocabulary bucket, which inside a history is
            indistinguishable from padding: an OOV item therefore reads as "no item"
            (models mask 0).
        length: the history length L >= 0.

    Vectorised (one sort, then gathers in chunks of rows): O(n log n + n L), memory O(n
    L).

    Used by :func:`~minilib.recsys.kuairand.build_kuairand` (``batch["history"]``) for
    PEPNet and the long-sequence chapters (TWIN, TWIN-V2, Pyramid Mixer, with larger
    ``length``).
    """
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    it = _as_1d("items", items)
    if not np.issubdtype(it.dtype, np.integer):
        raise ValueError(
            f"items must be integer vocabulary indices, got dtype {it.dtype}"
        )
    if len(it) != len(_as_1d("users", users)):
        raise ValueError(
            f"items has length {len(it)}, users {len(_as_1d('users', users))}"
        )
    order, key_start, tie_start = _causal_groups(users, times, tiebreak=it)
    n = len(order)
    out = np.zeros((n, length), dtype=np.int64)
    if n == 0 or length == 0:
        return out
    items_sorted = it.astype(np.int64)[order]
    offsets = np.arange(-length, 0, dtype=np.int64)
    chunk = max(1, _HISTORY_CHUNK_ELEMENTS // length)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        idx = tie_start[a:b, None] + offsets
        valid = idx >= key_start[a:b, None]
        out[order[a:b]] = np.where(valid, items_sorted[np.maximum(idx, 0)], 0)
    return out


def time_split(
    times: Any, fractions: Sequence[float] = (0.7, 0.1, 0.2)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split rows by global time cut points: boolean masks ``(train, val, test)`` (n,)
    that partition the rows.

    With ``s`` the sorted times and ``n`` rows, the cut times are ``c1 = s[round(f_train
    n)]`` and ``c2 = s[round((f_train + f_val) n)]`` (order-statistic quantiles of
    ``times``): train is ``times < c1``, val ``c1 <= times < c2``, test ``times >= c2``.
    Rows tied at a cut time all go to the **later** split, so every val time is >= every
    train time, every test time >= every val time, and the split sizes match the
    fractions up to the ties at the two cuts. ``fractions`` are three non-negative
    numbers summing to 1 (a zero gives an empty split).

    Used by :func:`~minilib.recsys.kuairand.build_kuairand` for PEPNet, TWIN, TWIN-V2
    and Pyramid Mixer.
    """
    t = _as_1d("times", times)
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or np.any(f < 0) or not math.isclose(f.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(
            "fractions must be three non-negative numbers summing to 1, got "
            f"{tuple(fractions)}"
        )
    if np.issubdtype(t.dtype, np.floating) and np.isnan(t).any():
        raise ValueError("times contain NaN")
    n = len(t)
    s = np.sort(t, kind="stable")
    k1 = int(round(f[0] * n))
    k2 = max(k1, int(round((f[0] + f[1]) * n)))
    before1 = t < s[k1] if k1 < n else np.ones(n, dtype=bool)
    before2 = t < s[k2] if k2 < n else np.ones(n, dtype=bool)
    return before1, before2 & ~before1, ~before2
