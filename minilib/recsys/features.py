"""The recommendation data pipeline: from the KuaiRand log to batches of the
:mod:`minilib.recsys.spec` contract.

Used by the PEPNet chapter and, later, by the long-sequence chapters (TWIN, TWIN-V2,
Pyramid Mixer). The pieces are general (any log with a user column, an item column and a
time column) and the KuaiRand assembly is one function, :func:`build_kuairand` (or
:func:`kuairand`, which also loads the tables):

- :class:`Vocab`: categorical value -> index (0 = missing or out of vocabulary), fitted
  on the training split;
- :class:`Normalizer`: numeric columns -> optional ``log1p`` -> standardised with
  training statistics;
- :func:`causal_counts` and :func:`causal_history`: per-key counts, label sums and item
  sequences that only ever look at **strictly earlier** rows (same-time rows never see
  each other), vectorised (sort once, no loops over rows);
- :func:`time_split`: global cut points on time, so every test impression is later than
  every train impression;
- :class:`Prepared`: the result (spec, whole-split tensors, joined frames, vocabularies,
  normaliser, OOV rates) with a deterministic :meth:`Prepared.loader`.

Leakage rules, all tested: vocabularies, the normaliser, the duration deciles and the
smoothing priors are fitted on the training split only; every causal feature (history,
previous counts and rates) of a row uses only rows with a strictly smaller ``time_ms``.

Importing this module loads numpy, pandas and torch and defines functions; nothing is
read or computed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import torch

from .spec import BATCH_KEYS, FeatureSpec

__all__ = [
    "DEFAULT_DOMAIN_GROUPS",
    "DENSE_LOG_COLUMNS",
    "SPLITS",
    "USER_CATEGORICAL",
    "VIDEO_CATEGORICAL",
    "Normalizer",
    "Prepared",
    "Vocab",
    "build_kuairand",
    "causal_counts",
    "causal_history",
    "kuairand",
    "time_split",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")

#: Default grouping of ``user_active_degree`` into domains; every other value
#: (middle_active, low_active, the new users, ...) goes to ``"other"``. Three domains
#: with real spread (``tab`` is 1 on 99 % of the 1K log).
DEFAULT_DOMAIN_GROUPS: dict[Any, str] = {
    "full_active": "full_active",
    "high_active": "high_active",
}

#: Video-table categorical fields (``tag`` is the first tag of ``tag_list``).
VIDEO_CATEGORICAL: tuple[str, ...] = ("video_type", "upload_type", "music_type", "tag")

#: User-table categorical fields (``is_live_streamer`` keeps its ``-124`` sentinel as a
#: category of its own).
USER_CATEGORICAL: tuple[str, ...] = (
    "user_active_degree",
    "is_video_author",
    "is_live_streamer",
    "follow_user_num_range",
    "fans_user_num_range",
    "friend_user_num_range",
    "register_days_range",
    *(f"onehot_feat{i}" for i in range(18)),
)

#: Dense columns that go through ``log1p`` before standardising (heavy-tailed,
#: non-negative).
DENSE_LOG_COLUMNS: tuple[str, ...] = (
    "video_duration",
    "user_prev_impressions",
    "video_prev_impressions",
)

_BEIJING_OFFSET_MS = 8 * 3600 * 1000
_HOUR_MS = 3600 * 1000
_DAY_MS = 24 * _HOUR_MS
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
    :func:`build_kuairand`.
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
    :func:`build_kuairand`.
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
        keys: 1-D, any hashable dtype (user ids, video ids, ...), length n. times: 1-D
            numeric, length n (e.g. ``time_ms``); rows with equal key and time never
            count each other. values: optional (n,) or (n, k) numeric array (e.g.
            labels); summed over the earlier rows.

    Returns:
        ``counts`` int64 (n,) and ``sums`` float64 of the shape of ``values`` (``None``
        without values), aligned with the input rows (any input order). Vectorised: one
        sort and a cumulative sum.

    Used by :func:`build_kuairand` (previous impressions, click and long-view rates) for
    PEPNet, TWIN, TWIN-V2 and Pyramid Mixer.
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
        users: 1-D user keys (any hashable dtype), length n. times: 1-D numeric times
            (e.g. ``time_ms``), length n; the input may be in any order. items: 1-D int
            item indices (vocabulary indices of the history field), length n. Index 0 is
            the out-of-vocabulary bucket, which inside a history is indistinguishable
            from padding: an OOV item therefore reads as "no item" (models mask 0).
            length: the history length L >= 0.

    Vectorised (one sort, then gathers in chunks of rows): O(n log n + n L), memory O(n
    L).

    Used by :func:`build_kuairand` (``batch["history"]``) for PEPNet and the
    long-sequence chapters (TWIN, TWIN-V2, Pyramid Mixer, with larger ``length``).
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

    Used by :func:`build_kuairand` for PEPNet, TWIN, TWIN-V2 and Pyramid Mixer.
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


# --------------------------------------------------------------------------------------
# Prepared data and loaders
# --------------------------------------------------------------------------------------


class _DictDataset(torch.utils.data.Dataset):
    """Rows of a dict of equally long tensors; indexing with a list/tensor of rows
    returns a whole batch dict.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]):
        self.tensors = dict(tensors)
        sizes = {k: v.shape[0] for k, v in self.tensors.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"tensors differ in length: {sizes}")
        self.n = next(iter(sizes.values())) if sizes else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: Any) -> dict[str, torch.Tensor]:
        if not isinstance(idx, (int, np.integer)):
            idx = torch.as_tensor(idx, dtype=torch.long)
        return {k: v[idx] for k, v in self.tensors.items()}


@dataclass(repr=False)
class Prepared:
    """Everything a recsys chapter needs from the data: the spec, whole-split batches
    and how they were made.

    - ``spec``: the :class:`~minilib.recsys.spec.FeatureSpec` (field names, vocabulary
      sizes, domains, tasks);
    - ``train``/``val``/``test``: dicts with the keys of
      :data:`~minilib.recsys.spec.BATCH_KEYS`, each tensor holding the whole split
      (first dimension = split size), rows in time order;
    - ``frames``: per split, the joined rows (log + video + user columns, the derived
      ``hour``/``weekday``/ ``duration_bucket``/``domain``/``domain_index`` columns and
      the raw causal dense columns), index = row number in the time-sorted deduplicated
      log; for inspection and figures;
    - ``vocabs``: field -> :class:`Vocab` (fitted on train); ``normalizer``: the dense
      :class:`Normalizer`;
    - ``oov_rate[split][field]``: fraction of the split's rows whose value is present
      but unseen in train (so mapped to 0); ``missing_rate[split][field]``: fraction
      with a missing value (also mapped to 0);
    - ``info``: build facts (dropped duplicate rows, cut times, duration decile edges,
      rate priors, split sizes, users without a user-table row, build seconds).

    Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """

    spec: FeatureSpec
    train: dict[str, torch.Tensor]
    val: dict[str, torch.Tensor]
    test: dict[str, torch.Tensor]
    frames: dict[str, pd.DataFrame]
    vocabs: dict[str, Vocab]
    normalizer: Normalizer
    oov_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> dict[str, torch.Tensor]:
        """The whole-split batch dict of ``name`` (``"train"``, ``"val"`` or
        ``"test"``).
        """
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Rows per split."""
        return {s: int(self.split(s)["labels"].shape[0]) for s in SPLITS}

    def loader(
        self,
        split: str,
        batch_size: int = 1024,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> torch.utils.data.DataLoader:
        """A :class:`torch.utils.data.DataLoader` of batch dicts (keys
        :data:`BATCH_KEYS`) over one split.

        Batches are gathered by index from the whole-split tensors (no per-row
        collation, so an epoch over the 30k training rows takes milliseconds).
        ``shuffle`` draws the order from a ``torch.Generator`` seeded with ``seed``: two
        loaders made with the same arguments yield identical batches; iterating the
        *same* loader again continues the generator (a new, still deterministic, order
        per epoch). Without shuffle, rows come in time order. Tensors are on the CPU;
        move them with ``{k: v.to(device) for k, v in batch.items()}``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ds = _DictDataset(self.split(split))
        if shuffle:
            gen = torch.Generator()
            gen.manual_seed(int(seed))
            base: torch.utils.data.Sampler = torch.utils.data.RandomSampler(
                ds, generator=gen
            )
        else:
            base = torch.utils.data.SequentialSampler(ds)
        sampler = torch.utils.data.BatchSampler(
            base, batch_size=batch_size, drop_last=drop_last
        )
        return torch.utils.data.DataLoader(
            ds, sampler=sampler, batch_size=None, num_workers=0
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes().items())
        return (
            f"Prepared({sizes}; {len(self.spec.sparse)} sparse, {len(self.spec.dense)} "
            "dense, "
            f"history {self.spec.history_len}, domains {list(self.spec.domains)}, "
            f"tasks {list(self.spec.tasks)})"
        )


# --------------------------------------------------------------------------------------
# KuaiRand
# --------------------------------------------------------------------------------------


def _first_tag(tag_lists: pd.Series) -> pd.Series:
    return pd.Series(
        [t[0] if isinstance(t, tuple) and t else pd.NA for t in tag_lists.tolist()],
        index=tag_lists.index,
        dtype="Int64",
    )


def _rate_name(column: str) -> str:
    return f"user_prev_{column.removeprefix('is_')}_rate"


def _resolve_domains(
    df: pd.DataFrame,
    train: np.ndarray,
    domain_column: str,
    domain_groups: Mapping[Any, Any] | None,
) -> tuple[dict[Any, str], tuple[str, ...]]:
    if domain_column not in df.columns:
        raise KeyError(
            f"domain_column {domain_column!r} is not a column of the joined log"
        )
    if domain_groups is None:
        if domain_column == "user_active_degree":
            groups = dict(DEFAULT_DOMAIN_GROUPS)
        else:
            # every value seen in train is its own domain, by descending train count
            groups = {v: str(v) for v in Vocab.fit(df.loc[train, domain_column]).values}
    else:
        groups = {k: str(v) for k, v in domain_groups.items()}
    names = tuple(dict.fromkeys(groups.values()))
    if "other" not in names:
        names = (*names, "other")
    return groups, names


def build_kuairand(
    log: pd.DataFrame,
    users: pd.DataFrame,
    videos: pd.DataFrame,
    *,
    tasks: Sequence[str] = ("is_click", "long_view", "is_like"),
    domain_column: str = "user_active_degree",
    domain_groups: Mapping[Any, Any] | None = None,
    history_len: int = 20,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    min_count: int = 1,
    rate_columns: Sequence[str] = ("is_click", "long_view"),
    rate_smoothing: float = 5.0,
) -> Prepared:
    """Turn a KuaiRand log and the Pure user/video tables into train/val/test batches
    (see :mod:`..spec`).

    Steps (all fitted quantities come from the training split only):

    1. Drop exact duplicate log rows (keep the first; the 1K log has one), sort by
       ``(time_ms, user_id, video_id)`` (stable), split by :func:`time_split` on
       ``time_ms`` with ``fractions``.
    2. Join the video table (``author_id``, ``video_type``, ``upload_type``,
       ``music_type``, ``tag`` = first tag of ``tag_list``, ``video_duration``) and the
       user table (:data:`USER_CATEGORICAL`). The user join assumes the KuaiRand-1K user
       ids equal the KuaiRand-Pure ids (the data's SOURCE.md: likely, not verified: only
       user 0 was cross-checked). ``is_live_streamer`` keeps ``-124`` as a category of
       its own; the ``onehot_feat*`` are categories; a missing value (the nullable
       onehot fields, ``music_type``, an empty tag, a missing duration) maps to index 0,
       which is therefore "missing or unseen in train".
    3. Domain: ``domain_column`` (any column of the joined log, e.g.
       ``user_active_degree``, ``tab``, ``video_type``) mapped through ``domain_groups``
       (value -> domain name; other values -> ``"other"``). Default for
       ``user_active_degree``: :data:`DEFAULT_DOMAIN_GROUPS` (full_active, high_active,
       other; ``tab`` is 1 on 99 % of this log, too skewed to be the domain); for
       another column without groups, every value seen in train is its own domain.
       ``spec.domains`` is the groups' names in order of first appearance, then
       ``"other"`` (always present, possibly empty). ``batch["domain"]`` is the index in
       ``spec.domains``; the sparse field ``domain`` is that index + 1 (index 0 = OOV,
       unused).
    4. Sparse fields (``spec.sparse``, in this order): ``user_id``, ``video_id``,
       ``author_id``, ``domain``, ``tab``, ``hour`` (0-23, Beijing time UTC+8, from
       ``time_ms``), ``weekday`` (0 = Monday, Beijing time), ``video_type``,
       ``upload_type``, ``music_type``, ``tag``, ``duration_bucket`` (train deciles of
       ``video_duration`` over impressions, 0-9), then :data:`USER_CATEGORICAL`.
       Vocabularies: :meth:`Vocab.fit` on train with ``min_count``; values unseen in
       train -> 0 (rates in ``oov_rate``).
    5. Dense fields (``spec.dense``): ``video_duration``; ``user_prev_impressions`` (the
       user's impressions with a strictly smaller ``time_ms``); per column ``c`` of
       ``rate_columns`` the smoothed causal rate ``user_prev_<c>_rate = (sum of c over
       those impressions + a p) / (count + a)`` with ``a = rate_smoothing`` and ``p``
       the train-split mean of ``c`` (so a user without history gets ``p``, and a short
       history is pulled towards it; ``p`` is one constant per column from the training
       labels); ``video_prev_impressions`` (the video's impressions, all users, strictly
       earlier). The :data:`DENSE_LOG_COLUMNS` get ``log1p``; all are standardised on
       train (:class:`Normalizer`); missing durations become 0 (the train mean).
    6. ``history``: :func:`causal_history` of the ``video_id`` indices, ``history_len``
       long (an OOV video in a history is 0, like padding). ``labels``: ``tasks`` as
       float32 (missing -> 0 with ``label_mask`` 0; all ones on KuaiRand). ``user``: the
       raw ``user_id``.

    Returns a :class:`Prepared`. On the 43k-row 1K log this takes well under a second
    (plus ~0.5 s of loading).

    Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """
    start = perf_counter()
    tasks = tuple(tasks)
    rate_columns = tuple(rate_columns)
    needed = {"user_id", "video_id", "time_ms", "tab", *tasks, *rate_columns}
    absent = sorted(needed - set(log.columns))
    if absent:
        raise KeyError(f"the log lacks columns {absent}")
    if history_len < 0:
        raise ValueError(f"history_len must be >= 0, got {history_len}")
    if rate_smoothing <= 0:
        raise ValueError(f"rate_smoothing must be > 0, got {rate_smoothing}")

    # 1. deduplicate, sort, split
    n_raw = len(log)
    df = log.drop_duplicates(keep="first")
    n_dup = n_raw - len(df)
    df = df.sort_values(["time_ms", "user_id", "video_id"], kind="stable").reset_index(
        drop=True
    )
    time = df["time_ms"].to_numpy(dtype=np.int64)
    masks = dict(zip(SPLITS, time_split(time, fractions), strict=True))
    train = masks["train"]

    # 2. joins
    vid = videos[
        [
            "video_id",
            "author_id",
            "video_type",
            "upload_type",
            "music_type",
            "video_duration",
        ]
    ].copy()
    vid["tag"] = _first_tag(videos["tag_list"])
    vid["tag_list"] = videos["tag_list"]
    df = df.merge(vid, on="video_id", how="left", validate="many_to_one")
    usr = users[["user_id", *USER_CATEGORICAL]]
    df = df.merge(
        usr, on="user_id", how="left", validate="many_to_one", indicator="_user_row"
    )
    n_users_without_row = int(
        df.loc[df["_user_row"] == "left_only", "user_id"].nunique()
    )
    df = df.drop(columns="_user_row")

    # time of day / week in Beijing time
    local = time + _BEIJING_OFFSET_MS
    df["hour"] = (local // _HOUR_MS) % 24
    # 1970-01-01 was a Thursday (3 with Monday = 0)
    df["weekday"] = (local // _DAY_MS + 3) % 7

    # duration deciles on the training impressions
    dur = df["video_duration"].to_numpy(dtype=np.float64, na_value=np.nan)
    train_dur = dur[train & ~np.isnan(dur)]
    edges = (
        np.unique(np.quantile(train_dur, np.linspace(0, 1, 11)))
        if len(train_dur)
        else np.zeros(0)
    )
    bucket = pd.array(np.searchsorted(edges[1:-1], dur, side="right"), dtype="Int64")
    bucket[np.isnan(dur)] = pd.NA
    df["duration_bucket"] = bucket

    # 3. domains
    groups, domains = _resolve_domains(df, train, domain_column, domain_groups)
    domain_name = (
        df[domain_column].astype(object).map(groups).fillna("other").astype(str)
    )
    df["domain"] = domain_name
    df["domain_index"] = pd.Categorical(
        domain_name, categories=list(domains)
    ).codes.astype(np.int64)

    # 4. sparse fields
    sparse_fields = (
        "user_id",
        "video_id",
        "author_id",
        "domain",
        "tab",
        "hour",
        "weekday",
        *VIDEO_CATEGORICAL,
        "duration_bucket",
        *USER_CATEGORICAL,
    )
    vocabs: dict[str, Vocab] = {}
    sparse = np.empty((len(df), len(sparse_fields)), dtype=np.int64)
    train_frame = df.loc[train]
    for j, f in enumerate(sparse_fields):
        vocabs[f] = (
            Vocab.from_values(domains)
            if f == "domain"
            else Vocab.fit(train_frame[f], min_count)
        )
        sparse[:, j] = vocabs[f].transform(df[f])
    oov_rate: dict[str, dict[str, float]] = {}
    missing_rate: dict[str, dict[str, float]] = {}
    for s, m in masks.items():
        n_s = max(int(m.sum()), 1)
        oov_rate[s], missing_rate[s] = {}, {}
        for j, f in enumerate(sparse_fields):
            miss = df.loc[m, f].isna().to_numpy()
            zero = sparse[m, j] == 0
            oov_rate[s][f] = float((zero & ~miss).sum() / n_s)
            missing_rate[s][f] = float(miss.sum() / n_s)

    # 5. dense fields (causal)
    users_arr = df["user_id"].to_numpy()
    rate_vals = (
        df[list(rate_columns)].to_numpy(dtype=np.float64, na_value=0.0)
        if rate_columns
        else None
    )
    n_prev, sums = causal_counts(users_arr, time, rate_vals)
    df["user_prev_impressions"] = n_prev
    priors: dict[str, float] = {}
    for j, c in enumerate(rate_columns):
        p = float(df.loc[train, c].mean()) if train.any() else 0.0
        priors[c] = p
        df[_rate_name(c)] = (sums[:, j] + rate_smoothing * p) / (
            n_prev + rate_smoothing
        )
    df["video_prev_impressions"] = causal_counts(df["video_id"].to_numpy(), time)[0]
    dense_fields = (
        "video_duration",
        "user_prev_impressions",
        *(_rate_name(c) for c in rate_columns),
        "video_prev_impressions",
    )
    normalizer = Normalizer.fit(
        df.loc[train], dense_fields, [c for c in DENSE_LOG_COLUMNS if c in dense_fields]
    )
    dense = normalizer.transform(df)

    # 6. history, labels
    hist = causal_history(
        users_arr, time, sparse[:, sparse_fields.index("video_id")], history_len
    )
    lab = df[list(tasks)].to_numpy(dtype=np.float64, na_value=np.nan)
    label_mask = (~np.isnan(lab)).astype(np.float32)
    labels = np.nan_to_num(lab, nan=0.0).astype(np.float32)

    arrays = {
        "sparse": sparse,
        "dense": dense,
        "history": hist,
        "domain": df["domain_index"].to_numpy(dtype=np.int64),
        "labels": labels,
        "label_mask": label_mask,
        "user": users_arr.astype(np.int64),
    }
    assert tuple(arrays) == BATCH_KEYS
    batches = {
        s: {k: torch.from_numpy(np.ascontiguousarray(a[m])) for k, a in arrays.items()}
        for s, m in masks.items()
    }
    df.index.name = "row"
    frames = {s: df.loc[m] for s, m in masks.items()}

    sizes = {s: int(m.sum()) for s, m in masks.items()}
    cuts = {
        s: (int(time[m].min()), int(time[m].max())) if m.any() else None
        for s, m in masks.items()
    }
    notes = {
        "user_join": (
            "KuaiRand-1K user ids are assumed equal to KuaiRand-Pure ids (likely, not "
            f"verified); {n_users_without_row} log users have no user-table row"
        ),
        "duplicates": f"{n_dup} exact duplicate log row(s) dropped",
        "splits": "time split "
        + ", ".join(f"{s} {sizes[s]}" for s in SPLITS)
        + "; ties at a cut go later",
        "domain": (
            f"{domain_column} -> {dict(groups)}, other values -> 'other'; domains "
            f"{list(domains)}"
        ),
        "index_0": (
            "index 0 of every sparse field = missing or unseen in train; in history "
            "also padding"
        ),
        "oov": "rows with a train-unseen value: "
        + "; ".join(
            f"{s}: "
            + ", ".join(
                f"{f} {oov_rate[s][f]:.3f}"
                for f in ("user_id", "video_id", "author_id")
            )
            for s in SPLITS
        ),
        "dense": (
            f"log1p on {list(normalizer.log_columns)}; standardised on train; causal "
            "counts/rates use strictly earlier impressions; rates smoothed with "
            f"a={rate_smoothing} towards the train means {priors}"
        ),
    }
    spec = FeatureSpec(
        sparse=sparse_fields,
        vocab_sizes={f: len(v) for f, v in vocabs.items()},
        dense=dense_fields,
        history_field="video_id",
        history_len=history_len,
        domain_field="domain",
        domains=domains,
        tasks=tasks,
        prior_fields=("user_id", "video_id", "author_id"),
        domain_side_fields=("domain",),
        notes=notes,
    )
    info = {
        "n_log_rows": n_raw,
        "n_duplicates_dropped": n_dup,
        "sizes": sizes,
        "time_range": cuts,
        "duration_edges": edges,
        "rate_priors": priors,
        "rate_smoothing": rate_smoothing,
        "users_without_row": n_users_without_row,
        "domain_groups": dict(groups),
        "dense_missing_train": dict(normalizer.n_missing_fit),
        "build_seconds": perf_counter() - start,
    }
    return Prepared(
        spec=spec,
        train=batches["train"],
        val=batches["val"],
        test=batches["test"],
        frames=frames,
        vocabs=vocabs,
        normalizer=normalizer,
        oov_rate=oov_rate,
        missing_rate=missing_rate,
        info=info,
    )


def kuairand(data_dir: str | os.PathLike | None = None, **kwargs: Any) -> Prepared:
    """Load the KuaiRand-1K random log and the Pure user and video tables, then
    :func:`build_kuairand` them.

    ``data_dir`` is the data root (default: ``$MINILIB_DATA``, see
    :mod:`minilib.data.registry`); ``kwargs`` go to :func:`build_kuairand`. About 1 s on
    the real data (loading ~0.5 s, build ~0.5 s).

    Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """
    from minilib.data.kuairand import (
        load_kuairand_log,
        load_kuairand_users,
        load_kuairand_videos,
    )

    start = perf_counter()
    log = load_kuairand_log(data_dir)
    users = load_kuairand_users(data_dir)
    videos = load_kuairand_videos(data_dir)
    prepared = build_kuairand(log, users, videos, **kwargs)
    prepared.info["total_seconds"] = perf_counter() - start
    return prepared
