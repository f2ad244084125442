"""KuaiRand as batches of the :mod:`minilib.recsys.spec` contract: the feature pipeline
of the recommendation chapters.

:func:`prepare_kuairand` loads the KuaiRand-1K random log and the Pure user and video
tables and calls :func:`build_kuairand`, which runs these steps in order (each is a
function of its own, so a reader can follow or reuse one):

1. :func:`split_log`: drop duplicate rows, sort by time, cut train / val / test in time;
2. :func:`join_tables`: the video and user tables onto the log;
3. :func:`add_time_fields`: hour and weekday in Beijing time;
4. :func:`add_duration_buckets`: deciles of the video duration, fitted on train;
5. :func:`assign_domains`: the domain of every impression;
6. :func:`encode_sparse`: vocabulary indices of every categorical field, fitted on
   train;
7. :func:`causal_dense`: counts and smoothed rates from strictly earlier impressions,
   normalised with training statistics;
8. :func:`causal_history` of the video indices, and the labels.

The result is a :class:`Prepared`: the spec, whole-split tensors, the joined frames and
everything fitted. Every fitted quantity comes from the training split only.

Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import torch

from .batches import SPLITS, Prepared
from .features import Normalizer, Vocab, causal_counts, causal_history, time_split
from .spec import BATCH_KEYS, FeatureSpec

__all__ = [
    "DEFAULT_DOMAIN_GROUPS",
    "DENSE_LOG_COLUMNS",
    "USER_CATEGORICAL",
    "VIDEO_CATEGORICAL",
    "add_duration_buckets",
    "add_time_fields",
    "assign_domains",
    "build_kuairand",
    "causal_dense",
    "encode_sparse",
    "join_tables",
    "prepare_kuairand",
    "split_log",
]

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

#: The sparse fields of the batches, in column order.
SPARSE_FIELDS: tuple[str, ...] = (
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

_BEIJING_OFFSET_MS = 8 * 3600 * 1000
_HOUR_MS = 3600 * 1000
_DAY_MS = 24 * _HOUR_MS


# --------------------------------------------------------------------------------------
# Helpers
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


# --------------------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------------------


def split_log(
    log: pd.DataFrame, fractions: Sequence[float] = (0.7, 0.1, 0.2)
) -> tuple[pd.DataFrame, dict[str, np.ndarray], int]:
    """Step 1: drop exact duplicate rows (the first is kept; the 1K log has one), sort
    by ``(time_ms, user_id, video_id)`` (stable) and cut by :func:`time_split` on
    ``time_ms``.

    Returns the sorted frame (index ``0 .. n - 1``), the boolean row masks (n,) per
    split and the number of dropped duplicates.
    """
    df = log.drop_duplicates(keep="first")
    n_dup = len(log) - len(df)
    df = df.sort_values(["time_ms", "user_id", "video_id"], kind="stable")
    df = df.reset_index(drop=True)
    time = df["time_ms"].to_numpy(dtype=np.int64)
    masks = dict(zip(SPLITS, time_split(time, fractions), strict=True))
    return df, masks, n_dup


def join_tables(
    df: pd.DataFrame, users: pd.DataFrame, videos: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """Step 2: join the video table (``author_id``, ``video_type``, ``upload_type``,
    ``music_type``, ``video_duration``, ``tag`` = the first tag of ``tag_list``) and the
    user table (:data:`USER_CATEGORICAL`) onto the log rows.

    The user join assumes that the KuaiRand-1K user ids equal the KuaiRand-Pure ids (the
    data's SOURCE.md: likely, not verified; only user 0 was cross-checked). Returns the
    joined frame and the number of log users without a user-table row.
    """
    columns = [
        "video_id",
        "author_id",
        "video_type",
        "upload_type",
        "music_type",
        "video_duration",
    ]
    vid = videos[columns].copy()
    vid["tag"] = _first_tag(videos["tag_list"])
    vid["tag_list"] = videos["tag_list"]
    df = df.merge(vid, on="video_id", how="left", validate="many_to_one")
    usr = users[["user_id", *USER_CATEGORICAL]]
    df = df.merge(
        usr, on="user_id", how="left", validate="many_to_one", indicator="_user_row"
    )
    without_row = df.loc[df["_user_row"] == "left_only", "user_id"].nunique()
    return df.drop(columns="_user_row"), int(without_row)


def add_time_fields(df: pd.DataFrame) -> None:
    """Step 3, in place: ``hour`` (0-23) and ``weekday`` (0 = Monday) of ``time_ms`` in
    Beijing time (UTC+8)."""
    local = df["time_ms"].to_numpy(dtype=np.int64) + _BEIJING_OFFSET_MS
    df["hour"] = (local // _HOUR_MS) % 24
    df["weekday"] = (local // _DAY_MS + 3) % 7  # 1970-01-01 was a Thursday (3)


def add_duration_buckets(df: pd.DataFrame, train: np.ndarray) -> np.ndarray:
    """Step 4, in place: ``duration_bucket``, the decile (0-9) of ``video_duration``
    among the training impressions; missing when the duration is. Returns the decile
    edges."""
    dur = df["video_duration"].to_numpy(dtype=np.float64, na_value=np.nan)
    train_dur = dur[train & ~np.isnan(dur)]
    edges = np.zeros(0)
    if len(train_dur):
        edges = np.unique(np.quantile(train_dur, np.linspace(0, 1, 11)))
    bucket = pd.array(np.searchsorted(edges[1:-1], dur, side="right"), dtype="Int64")
    bucket[np.isnan(dur)] = pd.NA
    df["duration_bucket"] = bucket
    return edges


def assign_domains(
    df: pd.DataFrame,
    train: np.ndarray,
    domain_column: str = "user_active_degree",
    domain_groups: Mapping[Any, Any] | None = None,
) -> tuple[dict[Any, str], tuple[str, ...]]:
    """Step 5, in place: the domain name (``domain``) and its index in the domain list
    (``domain_index``) of every row.

    ``domain_column`` (any column of the joined log, e.g. ``user_active_degree``,
    ``tab``, ``video_type``) is mapped through ``domain_groups`` (value -> domain name;
    other values -> ``"other"``). The default for ``user_active_degree`` is
    :data:`DEFAULT_DOMAIN_GROUPS`; for another column without groups, every value seen
    in train is its own domain. The domain list is the groups' names in order of first
    appearance, then ``"other"`` (always present, possibly empty).

    Returns ``(groups, domains)``.
    """
    groups, domains = _resolve_domains(df, train, domain_column, domain_groups)
    name = df[domain_column].astype(object).map(groups).fillna("other").astype(str)
    df["domain"] = name
    codes = pd.Categorical(name, categories=list(domains)).codes
    df["domain_index"] = codes.astype(np.int64)
    return groups, domains


def encode_sparse(
    df: pd.DataFrame,
    masks: Mapping[str, np.ndarray],
    domains: Sequence[str],
    min_count: int = 1,
) -> tuple[np.ndarray, dict[str, Vocab], dict, dict]:
    """Step 6: the vocabulary index of every field of :data:`SPARSE_FIELDS`.

    Vocabularies are :meth:`Vocab.fit` on the training rows with ``min_count`` (the
    domain field takes the fixed list ``domains``); a missing value or one unseen in
    train maps to 0.

    Returns ``sparse`` int64 (n, n_sparse), the vocabularies, and per split and field
    the share of rows whose value is present but unseen in train (``oov_rate``) and the
    share with a missing value (``missing_rate``).
    """
    vocabs: dict[str, Vocab] = {}
    sparse = np.empty((len(df), len(SPARSE_FIELDS)), dtype=np.int64)
    train_frame = df.loc[masks["train"]]
    for j, f in enumerate(SPARSE_FIELDS):
        if f == "domain":
            vocabs[f] = Vocab.from_values(domains)
        else:
            vocabs[f] = Vocab.fit(train_frame[f], min_count)
        sparse[:, j] = vocabs[f].transform(df[f])
    oov_rate: dict[str, dict[str, float]] = {}
    missing_rate: dict[str, dict[str, float]] = {}
    for s, m in masks.items():
        n_s = max(int(m.sum()), 1)
        oov_rate[s], missing_rate[s] = {}, {}
        for j, f in enumerate(SPARSE_FIELDS):
            miss = df.loc[m, f].isna().to_numpy()
            zero = sparse[m, j] == 0
            oov_rate[s][f] = float((zero & ~miss).sum() / n_s)
            missing_rate[s][f] = float(miss.sum() / n_s)
    return sparse, vocabs, oov_rate, missing_rate


def causal_dense(
    df: pd.DataFrame,
    train: np.ndarray,
    rate_columns: Sequence[str] = ("is_click", "long_view"),
    rate_smoothing: float = 5.0,
) -> tuple[np.ndarray, tuple[str, ...], Normalizer, dict[str, float]]:
    """Step 7: the dense fields, from strictly earlier impressions only.

    - ``video_duration``;
    - ``user_prev_impressions``: the user's impressions with a smaller ``time_ms``;
    - per column ``c`` of ``rate_columns``, the smoothed causal rate
      ``user_prev_<c>_rate = (sum of c over those impressions + a p) / (count + a)``
      with ``a = rate_smoothing`` and ``p`` the training mean of ``c``: a user without
      history gets ``p``, a short history is pulled towards it;
    - ``video_prev_impressions``: the video's earlier impressions, all users.

    The raw columns are added to ``df``; :data:`DENSE_LOG_COLUMNS` get ``log1p``, and
    all are standardised on train (:class:`Normalizer`; a missing duration becomes 0,
    the training mean). Returns ``dense`` float32 (n, n_dense), the field names, the
    normaliser and the priors ``p``.
    """
    time = df["time_ms"].to_numpy(dtype=np.int64)
    users = df["user_id"].to_numpy()
    values = None
    if rate_columns:
        values = df[list(rate_columns)].to_numpy(dtype=np.float64, na_value=0.0)
    n_prev, sums = causal_counts(users, time, values)
    df["user_prev_impressions"] = n_prev
    priors: dict[str, float] = {}
    for j, c in enumerate(rate_columns):
        p = float(df.loc[train, c].mean()) if train.any() else 0.0
        priors[c] = p
        smoothed = (sums[:, j] + rate_smoothing * p) / (n_prev + rate_smoothing)
        df[_rate_name(c)] = smoothed
    df["video_prev_impressions"] = causal_counts(df["video_id"].to_numpy(), time)[0]
    fields = (
        "video_duration",
        "user_prev_impressions",
        *(_rate_name(c) for c in rate_columns),
        "video_prev_impressions",
    )
    logs = [c for c in DENSE_LOG_COLUMNS if c in fields]
    normalizer = Normalizer.fit(df.loc[train], fields, logs)
    return normalizer.transform(df), fields, normalizer, priors


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
    """Turn a KuaiRand log and the Pure user and video tables into train / val / test
    batches (see :mod:`minilib.recsys.spec`), by the steps listed in the module's
    docstring.

    ``history`` holds the last ``history_len`` video indices of the user's strictly
    earlier impressions (:func:`causal_history`; an unseen video is 0, like padding);
    ``labels`` are the ``tasks`` as float32 (a missing label -> 0 with ``label_mask``
    0; KuaiRand has none); ``user`` is the raw ``user_id``. The other arguments go to
    the steps.

    Returns a :class:`Prepared`. On the 43k-row 1K log this takes well under a second.

    Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """
    start = perf_counter()
    tasks, rate_columns = tuple(tasks), tuple(rate_columns)
    needed = {"user_id", "video_id", "time_ms", "tab", *tasks, *rate_columns}
    absent = sorted(needed - set(log.columns))
    if absent:
        raise KeyError(f"the log lacks columns {absent}")
    if history_len < 0:
        raise ValueError(f"history_len must be >= 0, got {history_len}")
    if rate_smoothing <= 0:
        raise ValueError(f"rate_smoothing must be > 0, got {rate_smoothing}")

    df, masks, n_dup = split_log(log, fractions)
    train = masks["train"]
    df, n_users_without_row = join_tables(df, users, videos)
    add_time_fields(df)
    edges = add_duration_buckets(df, train)
    groups, domains = assign_domains(df, train, domain_column, domain_groups)
    sparse, vocabs, oov_rate, missing_rate = encode_sparse(
        df, masks, domains, min_count
    )
    dense, dense_fields, normalizer, priors = causal_dense(
        df, train, rate_columns, rate_smoothing
    )
    time = df["time_ms"].to_numpy(dtype=np.int64)
    users_arr = df["user_id"].to_numpy()
    video_col = sparse[:, SPARSE_FIELDS.index("video_id")]
    lab = df[list(tasks)].to_numpy(dtype=np.float64, na_value=np.nan)

    arrays = {
        "sparse": sparse,
        "dense": dense,
        "history": causal_history(users_arr, time, video_col, history_len),
        "domain": df["domain_index"].to_numpy(dtype=np.int64),
        "labels": np.nan_to_num(lab, nan=0.0).astype(np.float32),
        "label_mask": (~np.isnan(lab)).astype(np.float32),
        "user": users_arr.astype(np.int64),
    }
    assert tuple(arrays) == BATCH_KEYS
    batches = {
        s: {k: torch.from_numpy(np.ascontiguousarray(a[m])) for k, a in arrays.items()}
        for s, m in masks.items()
    }
    df.index.name = "row"
    sizes = {s: int(m.sum()) for s, m in masks.items()}
    facts = {
        "n_log_rows": len(log),
        "n_duplicates_dropped": n_dup,
        "sizes": sizes,
        "time_range": {
            s: (int(time[m].min()), int(time[m].max())) if m.any() else None
            for s, m in masks.items()
        },
        "duration_edges": edges,
        "rate_priors": priors,
        "rate_smoothing": rate_smoothing,
        "users_without_row": n_users_without_row,
        "domain_groups": dict(groups),
        "dense_missing_train": dict(normalizer.n_missing_fit),
    }
    spec = FeatureSpec(
        sparse=SPARSE_FIELDS,
        vocab_sizes={f: len(v) for f, v in vocabs.items()},
        dense=dense_fields,
        history_field="video_id",
        history_len=history_len,
        domain_field="domain",
        domains=domains,
        tasks=tasks,
        prior_fields=("user_id", "video_id", "author_id"),
        domain_side_fields=("domain",),
        notes=_notes(facts, domain_column, domains, normalizer, oov_rate),
    )
    return Prepared(
        spec=spec,
        train=batches["train"],
        val=batches["val"],
        test=batches["test"],
        frames={s: df.loc[m] for s, m in masks.items()},
        vocabs=vocabs,
        normalizer=normalizer,
        oov_rate=oov_rate,
        missing_rate=missing_rate,
        info={**facts, "build_seconds": perf_counter() - start},
    )


def _notes(facts, domain_column, domains, normalizer, oov_rate) -> dict[str, str]:
    """The spec's notes: how the data were made, in words."""
    sizes = facts["sizes"]
    ids = ("user_id", "video_id", "author_id")
    oov = "; ".join(
        f"{s}: " + ", ".join(f"{f} {oov_rate[s][f]:.3f}" for f in ids) for s in SPLITS
    )
    return {
        "user_join": (
            "KuaiRand-1K user ids are assumed equal to KuaiRand-Pure ids (likely, not "
            f"verified); {facts['users_without_row']} log users have no user-table row"
        ),
        "duplicates": f"{facts['n_duplicates_dropped']} exact duplicate log row(s) "
        "dropped",
        "splits": "time split "
        + ", ".join(f"{s} {sizes[s]}" for s in SPLITS)
        + "; ties at a cut go later",
        "domain": (
            f"{domain_column} -> {facts['domain_groups']}, other values -> 'other'; "
            f"domains {list(domains)}"
        ),
        "index_0": (
            "index 0 of every sparse field = missing or unseen in train; in history "
            "also padding"
        ),
        "oov": "rows with a train-unseen value: " + oov,
        "dense": (
            f"log1p on {list(normalizer.log_columns)}; standardised on train; causal "
            "counts/rates use strictly earlier impressions; rates smoothed with "
            f"a={facts['rate_smoothing']} towards the train means "
            f"{facts['rate_priors']}"
        ),
    }


def prepare_kuairand(
    data_dir: str | os.PathLike | None = None, **kwargs: Any
) -> Prepared:
    """Load the KuaiRand-1K random log and the Pure user and video tables, then
    :func:`build_kuairand` them.

    ``data_dir`` is the data root (default: ``$MINILIB_DATA``, see
    :mod:`minilib.data.registry`); ``kwargs`` go to :func:`build_kuairand`. About 1 s on
    the real data.

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
