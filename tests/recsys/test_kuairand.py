"""Tests of minilib.recsys.features: vocabularies, normalisation, causal features,
splits and the KuaiRand build.

The leakage tests (causal history, counts and rates recomputed by brute force; time
order of the splits) run on a small generated log always and on the real KuaiRand-1K log
when ``$MINILIB_DATA`` is set.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from minilib.data.kuairand import LOG_COLUMNS, USER_COLUMNS, VIDEO_COLUMNS
from minilib.recsys.batches import SPLITS, Prepared
from minilib.recsys.features import (
    Normalizer,
    Vocab,
    causal_counts,
    causal_history,
    time_split,
)
from minilib.recsys.kuairand import build_kuairand, prepare_kuairand
from minilib.recsys.spec import BATCH_KEYS

# --------------------------------------------------------------------------------------
# A small generated KuaiRand-like log (same columns and dtypes as the minilib.data
# loaders return)
# --------------------------------------------------------------------------------------

T0 = 1_650_600_645_720  # 2022-04-22 04:10:45.720 UTC = 12:10 Beijing time, a Friday


def fake_tables(
    seed: int = 0, n_users: int = 25, n_videos: int = 80, n_rows: int = 900
):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, n_rows)
    # coarse times (1 s grid over ~3 days) so that many impressions of one user share a
    # millisecond
    t = T0 + 1000 * (rng.integers(0, 400, n_rows) * 600)
    t[0] = T0
    log = pd.DataFrame({c: np.zeros(n_rows, dtype=np.int64) for c in LOG_COLUMNS})
    log["user_id"] = user
    log["video_id"] = rng.integers(0, n_videos, n_rows)
    log["time_ms"] = t
    for c in ("is_click", "long_view", "is_like", "is_follow"):
        log[c] = (
            rng.random(n_rows) < {"is_click": 0.3, "long_view": 0.2}.get(c, 0.05)
        ).astype(np.int64)
    log["is_rand"] = 1
    log["tab"] = rng.choice([1, 1, 1, 1, 2, 11], n_rows)
    # a video that only appears at the very end (unseen in train), and one exact
    # duplicate row
    late = pd.DataFrame([log.iloc[0].to_dict()])
    late["video_id"], late["time_ms"], late["user_id"] = (
        n_videos,
        T0 + 10 * 86400 * 1000,
        0,
    )
    log = pd.concat([log, late, log.iloc[[5]]], ignore_index=True).astype(np.int64)
    log = log.sort_values(["user_id", "time_ms"], kind="stable").reset_index(drop=True)

    degrees = [
        "full_active",
        "high_active",
        "middle_active",
        "low_active",
        "2_14_day_new",
    ]
    users = pd.DataFrame({"user_id": np.arange(n_users, dtype=np.int64)})
    users["user_active_degree"] = pd.array(
        rng.choice(degrees, n_users, p=[0.5, 0.2, 0.1, 0.1, 0.1]), dtype="string"
    )
    for c in USER_COLUMNS[2:]:
        if c.endswith("_range"):
            users[c] = pd.array(
                rng.choice(["0", "(0,10]", "[10,100)"], n_users), dtype="string"
            )
        elif c == "is_live_streamer":
            users[c] = rng.choice([1, -124], n_users).astype(np.int64)
        else:
            users[c] = rng.integers(0, 4, n_users).astype(np.int64)
    for i in (4, 12, 13):
        col = pd.array(rng.integers(0, 3, n_users), dtype="Int64")
        col[rng.random(n_users) < 0.2] = pd.NA
        users[f"onehot_feat{i}"] = col
    users = users[list(USER_COLUMNS)]

    nv = n_videos + 1
    videos = pd.DataFrame({"video_id": np.arange(nv, dtype=np.int64)})
    videos["author_id"] = rng.integers(10**6, 10**6 + nv // 2, nv).astype(np.int64)
    videos["video_type"] = pd.array(
        rng.choice(["NORMAL", "AD"], nv, p=[0.9, 0.1]), dtype="string"
    )
    videos["upload_dt"] = pd.array(["2022-04-10"] * nv, dtype="string")
    videos["upload_type"] = pd.array(
        rng.choice(["Web", "Kmovie", "LongImport"], nv), dtype="string"
    )
    videos["visible_status"] = 0.0
    dur = rng.lognormal(11, 1, nv).round()
    dur[rng.random(nv) < 0.1] = np.nan
    videos["video_duration"] = dur
    videos["server_width"], videos["server_height"] = 720.0, 1280.0
    videos["music_id"] = rng.integers(10**9, 10**10, nv).astype(np.int64)
    music = rng.choice([9.0, 4.0, 8.0], nv)
    music[rng.random(nv) < 0.1] = np.nan
    videos["music_type"] = music
    tags = [
        tuple(int(x) for x in rng.choice(20, rng.integers(0, 3), replace=False))
        for _ in range(nv)
    ]
    videos["tag"] = pd.array(
        [",".join(map(str, t)) if t else pd.NA for t in tags], dtype="string"
    )
    videos = videos[list(VIDEO_COLUMNS)]
    videos["tag_list"] = pd.Series(tags, dtype=object)
    return log, users, videos


@functools.lru_cache(maxsize=2)
def fake_prepared(seed: int = 0, history_len: int = 6) -> Prepared:
    log, users, videos = fake_tables(seed)
    return build_kuairand(log, users, videos, history_len=history_len)


@functools.lru_cache(maxsize=1)
def real_prepared(root: Path) -> Prepared:
    return prepare_kuairand(root)


# --------------------------------------------------------------------------------------
# Vocab
# --------------------------------------------------------------------------------------


def test_vocab_oov_missing_len_and_order():
    v = Vocab.fit(["b", "a", "b", None, float("nan"), "c", "a", "b", pd.NA])
    assert v.values == ("b", "a", "c")  # by descending count
    assert v.counts == (3, 2, 1)
    assert len(v) == 4  # three values + the OOV/missing bucket 0
    idx = v.transform(["a", "zzz", None, float("nan"), pd.NA, "b", "c"])
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, [2, 0, 0, 0, 0, 1, 3])
    assert v.inverse(2) == "a" and v.inverse(0) is None
    assert list(v.inverse(np.array([0, 1, 3]))) == [None, "b", "c"]
    assert "a" in v and "zzz" not in v and v.index("c") == 3
    with pytest.raises(IndexError):
        v.inverse(4)


def test_vocab_deterministic_ties_and_min_count():
    values = [3, 1, 2, 1, 2, 3, 10, 10, 7]
    a = Vocab.fit(values)
    b = Vocab.fit(list(reversed(values)))
    c = Vocab.fit(pd.Series(np.random.default_rng(1).permutation(values)))
    # count 2 tied: by str ("1" < "10" < "2" < "3")
    assert a.values == b.values == c.values == (1, 10, 2, 3, 7)
    assert a == b == c
    m = Vocab.fit(values, min_count=2)
    assert m.values == (1, 10, 2, 3) and m.index(7) == 0


def test_vocab_numeric_equality_nullable_and_tuples():
    v = Vocab.fit(pd.array([9, 4, pd.NA, 9], dtype="Int64"))
    assert v.values == (9, 4)
    np.testing.assert_array_equal(
        v.transform(np.array([9.0, 4.0, np.nan, 5.0])), [1, 2, 0, 0]
    )
    np.testing.assert_array_equal(v.transform(np.array([9, 4], dtype=np.int64)), [1, 2])
    t = Vocab.fit([(1, 2), (3,), (1, 2), ()])
    np.testing.assert_array_equal(t.transform([(3,), (1, 2), (9,), ()]), [3, 1, 0, 2])
    fixed = Vocab.from_values(["x", "y"])
    assert len(fixed) == 3 and fixed.index("y") == 2
    with pytest.raises(ValueError):
        Vocab.from_values(["x", None])


def test_vocab_fitted_on_train_only():
    p = fake_prepared()
    late_video = p.frames["test"]["video_id"].max()
    # the generated log's test-only video
    assert late_video not in set(p.frames["train"]["video_id"])
    assert late_video not in p.vocabs["video_id"]
    col = p.spec.index("video_id")
    rows = torch.from_numpy(np.flatnonzero(p.frames["test"]["video_id"] == late_video))
    assert len(rows) and (p.test["sparse"][rows, col] == 0).all()
    # every vocabulary holds train values only
    for f, v in p.vocabs.items():
        if f != "domain":
            train_values = set(p.frames["train"][f].dropna().tolist())
            assert set(v.values) <= train_values, f


# --------------------------------------------------------------------------------------
# Normalizer
# --------------------------------------------------------------------------------------


def test_normalizer_standardises_with_train_stats():
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "a": rng.normal(5, 3, 500),
            "b": rng.exponential(100, 500),
            "c": np.full(500, 7.0),
        }
    )
    test = pd.DataFrame({"a": [5.0, np.nan], "b": [0.0, 1e6], "c": [7.0, 8.0]})
    nz = Normalizer.fit(train, ["a", "b", "c"], log_columns=["b"])
    z = nz.transform(train)
    assert z.dtype == np.float32 and z.shape == (500, 3)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-5)
    # constant column: std 0 -> 1, value - mean = 0
    np.testing.assert_array_equal(z[:, 2], 0)
    assert nz.std[2] == 1.0
    # log column: log1p then standardise
    lb = np.log1p(train["b"].to_numpy())
    np.testing.assert_allclose(
        z[:, 1], (lb - lb.mean()) / lb.std(), rtol=1e-4, atol=1e-5
    )
    zt, missing = nz.transform(test, return_missing=True)
    assert missing == {"a": 1, "b": 0, "c": 0}
    assert zt[1, 0] == 0.0  # missing -> 0 = the train mean
    assert zt[1, 2] == pytest.approx(1.0)  # (8 - 7) / 1
    assert zt[1, 1] == pytest.approx((np.log1p(1e6) - lb.mean()) / lb.std(), rel=1e-5)


def test_normalizer_missing_in_train_and_errors():
    train = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3.0],
            "n": pd.array([1, pd.NA, 3], dtype="Int64"),
            "e": [np.nan] * 3,
        }
    )
    nz = Normalizer.fit(train, ["a", "n", "e"])
    assert nz.n_missing_fit == {"a": 1, "n": 1, "e": 3}
    z = nz.transform(train)
    np.testing.assert_allclose(z[:, 0], [-1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(z[:, 1], [-1, 0, 1], atol=1e-6)
    # all-missing column: mean 0, std 1, every value missing -> 0
    np.testing.assert_array_equal(z[:, 2], 0)
    with pytest.raises(ValueError, match="negative"):
        Normalizer.fit(pd.DataFrame({"x": [-1.0, 2.0]}), ["x"], log_columns=["x"])
    with pytest.raises(ValueError):
        Normalizer.fit(train, ["a"], log_columns=["zz"])


# --------------------------------------------------------------------------------------
# Causal features and the time split
# --------------------------------------------------------------------------------------

USERS = np.array([1, 1, 1, 2, 1, 2, 1])
TIMES = np.array([10, 20, 20, 5, 30, 5, 40])
ITEMS = np.array([11, 12, 13, 21, 14, 22, 15])
EXPECTED = np.array(
    [
        [0, 0, 0],  # u1 t10: nothing earlier
        [0, 0, 11],  # u1 t20: not its same-time neighbour 13
        [0, 0, 11],  # u1 t20: not 12 either
        [0, 0, 0],  # u2 t5
        [11, 12, 13],  # u1 t30: both t20 rows, tied in time: by item
        [0, 0, 0],  # u2 t5: not its same-time neighbour 21
        [12, 13, 14],  # u1 t40: the latest 3 of 4
    ]
)


def test_causal_history_hand_example_ties_and_padding():
    h = causal_history(USERS, TIMES, ITEMS, 3)
    assert h.dtype == np.int64 and h.shape == (7, 3)
    np.testing.assert_array_equal(h, EXPECTED)
    # left padding
    np.testing.assert_array_equal(
        causal_history(USERS, TIMES, ITEMS, 5)[6], [0, 11, 12, 13, 14]
    )
    assert causal_history(USERS, TIMES, ITEMS, 0).shape == (7, 0)
    assert causal_history([], [], np.array([], dtype=np.int64), 4).shape == (0, 4)
    # string user keys work the same
    np.testing.assert_array_equal(
        causal_history(np.array(["a", "a", "a", "b", "a", "b", "a"]), TIMES, ITEMS, 3),
        EXPECTED,
    )


def test_causal_history_order_invariant():
    rng = np.random.default_rng(3)
    for _ in range(5):
        perm = rng.permutation(len(USERS))
        np.testing.assert_array_equal(
            causal_history(USERS[perm], TIMES[perm], ITEMS[perm], 3), EXPECTED[perm]
        )
    # bigger random case with many ties and repeated items: the per-row result does not
    # depend on the input order
    n = 2000
    u = rng.integers(0, 30, n)
    t = rng.integers(0, 50, n)
    items = rng.integers(0, 40, n)
    h = causal_history(u, t, items, 7)
    perm = rng.permutation(n)
    np.testing.assert_array_equal(
        causal_history(u[perm], t[perm], items[perm], 7), h[perm]
    )


def test_causal_counts_hand_example():
    labels = np.array([1, 0, 1, 1, 1, 0, 0])
    n, s = causal_counts(USERS, TIMES, labels)
    np.testing.assert_array_equal(n, [0, 1, 1, 0, 3, 0, 4])
    np.testing.assert_array_equal(s, [0, 1, 1, 0, 2, 0, 3])
    n2, s2 = causal_counts(USERS, TIMES, np.stack([labels, 1 - labels], axis=1))
    np.testing.assert_array_equal(s2[:, 0] + s2[:, 1], n2)
    assert causal_counts(USERS, TIMES)[1] is None


def test_time_split_partitions_and_orders():
    rng = np.random.default_rng(0)
    times = rng.integers(0, 300, 5000)  # many ties
    tr, va, te = time_split(times, (0.7, 0.1, 0.2))
    assert (
        tr.dtype == bool
        and (tr.astype(int) + va.astype(int) + te.astype(int) == 1).all()
    )
    assert times[tr].max() < times[va].min() and times[va].max() < times[te].min()
    assert abs(tr.mean() - 0.7) < 0.02 and abs(va.mean() - 0.1) < 0.02
    # ties at a cut go to the later split
    # the first cut falls inside the 7s: both go to val
    t = np.array([1, 2, 3, 4, 5, 6, 7, 7, 8, 9])
    tr, va, te = time_split(t, (0.7, 0.1, 0.2))
    assert tr.sum() == 6 and va.sum() == 2 and te.sum() == 2
    # the 7s straddle both cuts: all go to test, val is empty
    t = np.array([1, 2, 3, 4, 5, 6, 7, 7, 7, 8])
    tr, va, te = time_split(t, (0.7, 0.1, 0.2))
    assert tr.sum() == 6 and va.sum() == 0 and te.sum() == 4
    tr, va, te = time_split(np.arange(10), (1.0, 0.0, 0.0))
    assert tr.all() and not va.any() and not te.any()
    with pytest.raises(ValueError):
        time_split(t, (0.5, 0.2, 0.2))


# --------------------------------------------------------------------------------------
# Leakage: causal features recomputed by brute force
# --------------------------------------------------------------------------------------


def check_causal(p: Prepared, n_sample: int | None, seed: int = 0) -> None:
    """History, counts and rates of (a sample of) rows equal a brute-force recomputation
    from earlier rows.
    """
    full = pd.concat([p.frames[s] for s in SPLITS])
    hist = torch.cat([p.split(s)["history"] for s in SPLITS]).numpy()
    vid = p.vocabs["video_id"].transform(full["video_id"])
    users = full["user_id"].to_numpy()
    times = full["time_ms"].to_numpy()
    videos = full["video_id"].to_numpy()
    rows = np.arange(len(full))
    if n_sample is not None and n_sample < len(full):
        rows = np.random.default_rng(seed).choice(len(full), n_sample, replace=False)
    by_user = {u: np.flatnonzero(users == u) for u in np.unique(users[rows])}
    L = p.spec.history_len
    prior = p.info["rate_priors"]
    a = p.info["rate_smoothing"]
    labels = {c: full[c].to_numpy() for c in ("is_click", "long_view")}
    for i in rows:
        same = by_user[users[i]]
        earlier = same[times[same] < times[i]]
        # by time, ties by item index
        ordered = vid[earlier][np.lexsort((vid[earlier], times[earlier]))]
        expected = ordered[-L:] if L else ordered[:0]
        np.testing.assert_array_equal(
            hist[i], np.concatenate([np.zeros(L - len(expected), np.int64), expected])
        )
        nz = hist[i][hist[i] != 0]
        assert set(nz.tolist()) <= set(vid[earlier].tolist())
        r = full.iloc[i]
        assert r["user_prev_impressions"] == len(earlier)
        for c in ("is_click", "long_view"):
            want = (labels[c][earlier].sum() + a * prior[c]) / (len(earlier) + a)
            assert r[f"user_prev_{c.removeprefix('is_')}_rate"] == pytest.approx(
                want, abs=1e-12
            )
        assert r["video_prev_impressions"] == int(
            ((videos == videos[i]) & (times < times[i])).sum()
        )
    # the dense batch is the normalised frame columns
    for s in SPLITS:
        np.testing.assert_array_equal(
            p.split(s)["dense"].numpy(), p.normalizer.transform(p.frames[s])
        )


def check_history_all_rows(p: Prepared) -> None:
    """Every row: each history item is a video this user saw strictly earlier; no more
    items than earlier rows.
    """
    full = pd.concat([p.frames[s] for s in SPLITS])
    hist = torch.cat([p.split(s)["history"] for s in SPLITS]).numpy()
    users = full["user_id"].to_numpy()
    times = full["time_ms"].to_numpy()
    vid = p.vocabs["video_id"].transform(full["video_id"])
    size = p.spec.vocab_sizes["video_id"]
    # (user, item) -> earliest time
    first_seen = pd.Series(times).groupby(users * size + vid).min()
    rows, cols = np.nonzero(hist)
    seen = first_seen.reindex(users[rows] * size + hist[rows, cols]).to_numpy()
    assert not np.isnan(seen).any()  # the user did see that item ...
    assert (seen < times[rows]).all()  # ... strictly before the target impression
    n_items = (hist != 0).sum(1)
    assert (n_items <= full["user_prev_impressions"].to_numpy()).all()
    # train rows: every earlier video is in the vocabulary
    train = np.arange(len(full)) < len(p.frames["train"])
    np.testing.assert_array_equal(
        n_items[train],
        np.minimum(full["user_prev_impressions"].to_numpy()[train], p.spec.history_len),
    )


def check_split_order(p: Prepared) -> None:
    t = {s: p.frames[s]["time_ms"].to_numpy() for s in SPLITS}
    assert t["train"].max() < t["val"].min() <= t["val"].max() < t["test"].min()
    for s in SPLITS:
        assert (np.diff(t[s]) >= 0).all()


def test_leakage_generated_log():
    p = fake_prepared()
    full = pd.concat([p.frames[s] for s in SPLITS])
    # the generated log has same-time impressions
    assert full.groupby(["user_id", "time_ms"]).size().max() > 1
    check_causal(p, None)
    check_history_all_rows(p)
    check_split_order(p)


def test_leakage_real_log(data_root):
    p = real_prepared(data_root)
    check_causal(p, 1500)
    check_history_all_rows(p)
    check_split_order(p)


def test_future_labels_do_not_change_past_features():
    """Flip the labels of one test impression: no feature of any row at that time or
    earlier may change.
    """
    log, users, videos = fake_tables(2)
    a = build_kuairand(log, users, videos)
    target = a.frames["test"].iloc[len(a.frames["test"]) // 2]
    hit = (
        (log["user_id"] == target["user_id"])
        & (log["time_ms"] == target["time_ms"])
        & (log["video_id"] == target["video_id"])
    )
    changed = log.copy()
    for c in ("is_click", "long_view", "is_like"):
        changed.loc[hit, c] = 1 - changed.loc[hit, c]
    b = build_kuairand(changed, users, videos)
    for s in SPLITS:
        upto = torch.from_numpy(
            np.flatnonzero(a.frames[s]["time_ms"].to_numpy() <= target["time_ms"])
        )
        for k in ("sparse", "dense", "history", "domain"):
            assert torch.equal(a.split(s)[k][upto], b.split(s)[k][upto]), (s, k)
    # sanity: the same user's later impressions do see the flip
    later = (a.frames["test"]["user_id"] == target["user_id"]).to_numpy() & (
        a.frames["test"]["time_ms"] > target["time_ms"]
    ).to_numpy()
    if later.any():
        rows = torch.from_numpy(np.flatnonzero(later))
        assert not torch.equal(a.test["dense"][rows], b.test["dense"][rows])


# --------------------------------------------------------------------------------------
# Shapes, dtypes, spec
# --------------------------------------------------------------------------------------


def check_batches(p: Prepared) -> None:
    spec = p.spec
    dtypes = {
        "sparse": torch.int64,
        "dense": torch.float32,
        "history": torch.int64,
        "domain": torch.int64,
        "labels": torch.float32,
        "label_mask": torch.float32,
        "user": torch.int64,
    }
    for s in SPLITS:
        b = p.split(s)
        assert tuple(b) == BATCH_KEYS
        n = len(p.frames[s])
        shapes = {
            "sparse": (n, len(spec.sparse)),
            "dense": (n, len(spec.dense)),
            "history": (n, spec.history_len),
            "domain": (n,),
            "labels": (n, len(spec.tasks)),
            "label_mask": (n, len(spec.tasks)),
            "user": (n,),
        }
        for k in BATCH_KEYS:
            assert b[k].dtype == dtypes[k], (s, k)
            assert tuple(b[k].shape) == shapes[k], (s, k)
        sizes = torch.tensor([spec.vocab_sizes[f] for f in spec.sparse])
        assert (b["sparse"] >= 0).all() and (b["sparse"] < sizes).all()
        assert (b["history"] >= 0).all() and (
            b["history"] < spec.vocab_sizes[spec.history_field]
        ).all()
        assert (b["domain"] >= 0).all() and (b["domain"] < len(spec.domains)).all()
        torch.testing.assert_close(
            b["sparse"][:, spec.index("domain")], b["domain"] + 1
        )
        assert torch.isfinite(b["dense"]).all()
        assert set(b["labels"].unique().tolist()) <= {0.0, 1.0}
        assert (b["label_mask"] == 1).all()
        np.testing.assert_array_equal(
            b["user"].numpy(), p.frames[s]["user_id"].to_numpy()
        )
        np.testing.assert_array_equal(
            b["labels"].numpy(), p.frames[s][list(spec.tasks)].to_numpy(np.float32)
        )
    assert spec.vocab_sizes == {f: len(p.vocabs[f]) for f in spec.sparse}
    assert spec.vocab_sizes["domain"] == len(spec.domains) + 1
    assert spec.prior_fields == ("user_id", "video_id", "author_id")
    assert spec.domain_side_fields == ("domain",) and spec.history_field == "video_id"


def test_shapes_and_spec_generated():
    p = fake_prepared()
    check_batches(p)
    assert p.spec.domains == ("full_active", "high_active", "other")
    assert p.info["n_duplicates_dropped"] == 1
    assert sum(p.sizes().values()) == len(fake_tables()[0]) - 1


def test_shapes_and_spec_real(data_root):
    p = real_prepared(data_root)
    check_batches(p)
    assert p.sizes() == {"train": 30119, "val": 4303, "test": 8605}
    assert p.info["n_duplicates_dropped"] == 1
    assert p.spec.domains == ("full_active", "high_active", "other")
    assert p.spec.history_len == 20 and p.spec.tasks == (
        "is_click",
        "long_view",
        "is_like",
    )


def test_hour_weekday_beijing_and_custom_domains():
    log, users, videos = fake_tables()
    p = build_kuairand(
        log,
        users,
        videos,
        domain_column="tab",
        domain_groups={1: "main", 2: "side"},
        history_len=0,
    )
    assert p.spec.domains == ("main", "side", "other")
    full = pd.concat([p.frames[s] for s in SPLITS])
    expect = full["tab"].map({1: 0, 2: 1}).fillna(2).astype(int).to_numpy()
    np.testing.assert_array_equal(
        torch.cat([p.split(s)["domain"] for s in SPLITS]).numpy(), expect
    )
    assert p.train["history"].shape == (len(p.frames["train"]), 0)
    first = full.loc[full["time_ms"] == T0].iloc[0]
    # 12:10 Beijing time on Friday 2022-04-22
    assert first["hour"] == 12 and first["weekday"] == 4
    # a non-default column without groups: every train value is a domain, plus "other"
    q = build_kuairand(log, users, videos, domain_column="video_type")
    assert (
        set(q.spec.domains) == {"NORMAL", "AD", "other"}
        and q.spec.domains[-1] == "other"
    )


# --------------------------------------------------------------------------------------
# OOV, determinism, loaders, speed
# --------------------------------------------------------------------------------------


def test_oov_rates_real(data_root):
    p = real_prepared(data_root)
    for f in p.spec.sparse:
        assert p.oov_rate["train"][f] == 0.0, f
    for s in ("val", "test"):
        # random exposure: some videos first shown after the train cut
        assert 0 < p.oov_rate[s]["video_id"] < 0.2
        assert p.oov_rate[s]["user_id"] < 0.1  # users are mostly seen
        col = p.split(s)["sparse"][:, p.spec.index("video_id")]
        assert (col == 0).float().mean().item() == pytest.approx(
            p.oov_rate[s]["video_id"]
        )
    assert "video_id" in p.spec.notes["oov"]


def test_determinism_builds_and_loaders():
    log, users, videos = fake_tables(1)
    a = build_kuairand(log, users, videos)
    # input order does not matter
    b = build_kuairand(log.sample(frac=1.0, random_state=0), users, videos)
    for s in SPLITS:
        for k in BATCH_KEYS:
            assert torch.equal(a.split(s)[k], b.split(s)[k]), (s, k)
    l1 = list(a.loader("train", batch_size=64, shuffle=True, seed=7))
    l2 = list(b.loader("train", batch_size=64, shuffle=True, seed=7))
    l3 = list(a.loader("train", batch_size=64, shuffle=True, seed=8))
    assert len(l1) == len(l2) == -(-len(a.frames["train"]) // 64)
    for x, y in zip(l1, l2, strict=True):
        assert tuple(x) == BATCH_KEYS and all(
            torch.equal(x[k], y[k]) for k in BATCH_KEYS
        )
    assert not torch.equal(l1[0]["user"], l3[0]["user"])
    # one epoch visits every row exactly once; without shuffle, rows come in time order
    rows = torch.cat([x["labels"] for x in l1])
    assert (
        rows.shape == a.train["labels"].shape
        and torch.isclose(rows.sum(0), a.train["labels"].sum(0)).all()
    )
    seq = torch.cat([x["sparse"] for x in a.loader("val", batch_size=50)])
    assert torch.equal(seq, a.val["sparse"])
    assert sum(
        len(x["user"])
        for x in a.loader("train", 64, shuffle=True, seed=0, drop_last=True)
    ) == 64 * (len(a.frames["train"]) // 64)


def test_determinism_real(data_root):
    a = real_prepared(data_root)
    b = prepare_kuairand(data_root)
    for s in SPLITS:
        for k in BATCH_KEYS:
            assert torch.equal(a.split(s)[k], b.split(s)[k]), (s, k)
    assert a.vocabs == b.vocabs
