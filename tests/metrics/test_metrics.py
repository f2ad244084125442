"""Tests of minilib.metrics: hand-computed values on tiny inputs, cross-checks against
scikit-learn / scipy / brute-force references on seeded random data, the edge cases and
every ValueError path.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from minilib import metrics as M

# --------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------


def test_package_imports_no_torch_and_every_public_function_is_documented():
    imported = set()
    for path in Path(M.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported |= {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        imported |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
    assert "torch" not in imported
    for name in M.__all__:
        doc = getattr(M, name).__doc__
        assert doc and "Used in:" in doc, name


# --------------------------------------------------------------------------------------
# AUC, GAUC, log loss
# --------------------------------------------------------------------------------------


def test_auc_hand():
    # positives 0.8, 0.4; negatives 0.3, 0.6 pairs (pos,neg): (0.8,0.3) win, (0.8,0.6)
    # win, (0.4,0.3) win, (0.4,0.6) lose -> 3/4
    assert M.auc([1, 1, 0, 0], [0.8, 0.4, 0.3, 0.6]) == pytest.approx(0.75)


def test_auc_hand_with_tie():
    # positives 0.5, 0.9; negatives 0.5, 0.1
    # (0.5,0.5) tie 1/2, (0.5,0.1) win, (0.9,0.5) win, (0.9,0.1) win -> 3.5/4 = 0.875
    assert M.auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]) == pytest.approx(0.875)
    # all scores equal -> every pair is a tie -> 0.5
    assert M.auc([True, False, True], [2, 2, 2]) == pytest.approx(0.5)


@pytest.mark.parametrize("ties", [False, True])
def test_auc_matches_sklearn(ties):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = rng.normal(size=400) + 0.7 * y
    if ties:
        s = np.round(s, 1)
    assert M.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_gauc_hand():
    # group "a": y=[1,0,0], s=[0.9,0.5,0.95]: (0.9,0.5) win, (0.9,0.95) lose -> AUC 1/2,
    # weight 3 rows group "b": y=[1,0], s=[0.2,0.1]: (0.2,0.1) win -> AUC 1, weight 2
    # rows group "c": y=[1,1] single class -> skipped GAUC = (3 * 1/2 + 2 * 1) / (3 + 2)
    # = 3.5 / 5 = 0.7
    y = [1, 0, 0, 1, 0, 1, 1]
    s = [0.9, 0.5, 0.95, 0.2, 0.1, 0.3, 0.4]
    g = ["a", "a", "a", "b", "b", "c", "c"]
    assert M.gauc(y, s, g) == pytest.approx(0.7)
    value, n_used = M.gauc(y, s, g, return_details=True)
    assert value == pytest.approx(0.7) and n_used == 2


def test_gauc_matches_per_group_sklearn_and_single_group_is_auc():
    rng = np.random.default_rng(1)
    n = 600
    g = rng.integers(0, 40, n)
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(size=n) + 0.5 * y, 1)  # with ties
    num = den = 0.0
    for k in np.unique(g):
        sel = g == k
        if len(set(y[sel])) == 2:
            num += sel.sum() * skm.roc_auc_score(y[sel], s[sel])
            den += sel.sum()
    assert M.gauc(y, s, g) == pytest.approx(num / den, abs=1e-12)
    assert M.gauc(y, s, np.zeros(n)) == pytest.approx(M.auc(y, s), abs=1e-12)


def test_log_loss_hand():
    # -(ln 0.8 + ln(1 - 0.4)) / 2
    assert M.log_loss([1, 0], [0.8, 0.4]) == pytest.approx(
        -(math.log(0.8) + math.log(0.6)) / 2
    )


def test_log_loss_clipping():
    # perfect predictions clipped to 1-eps: -ln(1 - 1e-7) ~ 1e-7
    assert M.log_loss([1, 0], [1.0, 0.0]) == pytest.approx(-math.log(1 - 1e-7))
    # a confident mistake costs -ln(eps) = 7 ln 10 ~ 16.118 instead of infinity
    assert M.log_loss([0], [1.0]) == pytest.approx(7 * math.log(10))
    assert M.log_loss([0], [1.0], eps=1e-3) == pytest.approx(3 * math.log(10))


def test_log_loss_matches_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    p = rng.uniform(0.01, 0.99, 300)
    assert M.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)


# --------------------------------------------------------------------------------------
# RMSE, Pearson, concordance index
# --------------------------------------------------------------------------------------


def test_rmse_hand():
    # errors 0, 0, 2 -> sqrt((0 + 0 + 4) / 3)
    assert M.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert M.rmse(np.arange(5.0), np.arange(5.0)) == 0.0


def test_pearson_hand():
    # x=[1,2,3], y=[1,2,4]: dx=[-1,0,1], dy=[-4/3,-1/3,5/3]
    # sum dx dy = 4/3 + 0 + 5/3 = 3; sum dx^2 = 2; sum dy^2 = (16+1+25)/9 = 14/3
    # r = 3 / sqrt(2 * 14/3) = sqrt(27/28)
    assert M.pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(math.sqrt(27 / 28))
    assert M.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=500)
    y = 0.3 * x + rng.normal(size=500) + 100.0  # a large offset, to check the centring
    assert M.pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)


def test_concordance_index_hand():
    # y=[1,2,3], pred=[0.1,0.3,0.2]; comparable pairs (higher y first):
    # (y2,y1): 0.3>0.1 yes; (y3,y1): 0.2>0.1 yes; (y3,y2): 0.2<0.3 no -> 2/3
    assert M.concordance_index([1, 2, 3], [0.1, 0.3, 0.2]) == pytest.approx(2 / 3)


def test_concordance_index_hand_with_ties():
    # y=[1,1,2,3], pred=[0.5,0.1,0.5,0.7]; the pair (0,1) has equal y -> ignored; 5
    # comparable pairs: (2,0): 0.5 vs 0.5 tie 1/2; (2,1): 0.5>0.1 1; (3,0): 0.7>0.5 1;
    # (3,1): 1; (3,2): 0.7>0.5 1 -> 4.5 / 5 = 0.9
    assert M.concordance_index([1, 1, 2, 3], [0.5, 0.1, 0.5, 0.7]) == pytest.approx(0.9)
    assert M.concordance_index([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert M.concordance_index([1, 2, 3, 4], [4, 3, 2, 1]) == 0.0


def _ci_brute_force(t, p):
    t, p = np.asarray(t, float), np.asarray(p, float)
    higher = t[:, None] > t[None, :]
    score = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    return score[higher].sum() / higher.sum()


@pytest.mark.parametrize("seed", range(8))
def test_concordance_index_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    t = rng.integers(0, 8, n).astype(float)  # many ties in y_true
    p = np.round(t + rng.normal(size=n) * 3, 0)  # and in y_pred
    if len(np.unique(t)) < 2:
        t[0] = 9.0
    assert M.concordance_index(t, p) == pytest.approx(_ci_brute_force(t, p), abs=1e-12)


def test_concordance_index_at_30k():
    rng = np.random.default_rng(4)
    n = 30_000
    t = np.round(rng.normal(size=n) * 2 + 6, 1)
    p = np.round(t + rng.normal(size=n), 2)
    ci = M.concordance_index(t, p)  # O(n log n); timed in tests/benchmarks, not here
    assert 0.5 < ci < 1.0
    # exactness at that size, on a random subsample checked by brute force
    idx = rng.choice(n, 2000, replace=False)
    assert M.concordance_index(t[idx], p[idx]) == pytest.approx(
        _ci_brute_force(t[idx], p[idx]), abs=1e-12
    )


# --------------------------------------------------------------------------------------
# Masks: J, F, J&F, Dice
# --------------------------------------------------------------------------------------


def _squares():
    # two 10x10 squares in a 20x20 frame, the second shifted 2 px to the right
    a = np.zeros((20, 20), bool)
    b = np.zeros((20, 20), bool)
    a[2:12, 2:12] = True  # rows 2..11, cols 2..11
    b[2:12, 4:14] = True  # rows 2..11, cols 4..13
    return a, b


def test_jaccard_and_dice_hand():
    a, b = _squares()
    # intersection 10 x 8 = 80; union 100 + 100 - 80 = 120 -> J = 80/120 = 2/3
    assert M.jaccard(a, b) == pytest.approx(2 / 3)
    # Dice = 2 * 80 / (100 + 100) = 0.8 (= 2J / (1 + J))
    assert M.dice(a, b) == pytest.approx(0.8)
    assert M.jaccard(a, a) == 1.0 and M.dice(a.astype(int), a.astype(int)) == 1.0


def test_jaccard_and_dice_empty_masks():
    empty = np.zeros((4, 5), bool)
    full = np.ones((4, 5), bool)
    assert M.jaccard(empty, empty) == 1.0
    assert M.dice(empty, empty) == 1.0
    assert M.jaccard(empty, full) == 0.0
    assert M.dice(full, empty) == 0.0


def test_boundary_map_hand():
    # "first 3 columns set": the boundary is column 2 only (differs from its east
    # neighbour); the frame edges (left, top, bottom) are not boundaries
    gt = np.zeros((4, 8), bool)
    gt[:, :3] = True
    expected = np.zeros((4, 8), bool)
    expected[:, 2] = True
    np.testing.assert_array_equal(M.boundary_map(gt), expected)
    # a filled square away from the frame: the ring of rows r0-1..r1, cols c0-1..c1 (11
    # x 11 -> 40 px)
    a, _ = _squares()
    ring = np.zeros((20, 20), bool)
    ring[1:12, 1:12] = True
    ring[2:11, 2:11] = False
    np.testing.assert_array_equal(M.boundary_map(a), ring)
    assert M.boundary_map(a).sum() == 40


def _staircase():
    # gt: first 3 columns (boundary = column 2, 4 px) pred: first 3 columns on rows 0-1,
    # first 5 columns on rows 2-3. Its seg2bmap boundary: (0,2), (1,2): differ from
    # their east neighbour (1,3), (1,4): background, differ from their south neighbour
    # (2,4): differs from east; (3,4): last row, differs from east -> 6 px
    gt = np.zeros((4, 8), bool)
    gt[:, :3] = True
    pred = np.zeros((4, 8), bool)
    pred[0:2, :3] = True
    pred[2:4, :5] = True
    return pred, gt


def test_boundary_f_hand_bound_th_in_pixels():
    pred, gt = _staircase()
    expected_bp = np.zeros((4, 8), bool)
    expected_bp[[0, 1, 1, 1, 2, 3], [2, 2, 3, 4, 4, 4]] = True
    np.testing.assert_array_equal(M.boundary_map(pred), expected_bp)
    # bound_th=1: disk of radius 1 = the pixel and its 4 neighbours. dilate(gt boundary)
    # = columns 1..3; pred boundary px in it: (0,2),(1,2),(1,3) -> P = 3/6 = 1/2 gt
    # boundary px within 1 px of a pred boundary px: (0,2),(1,2) itself, (2,2) below
    # (1,2); (3,2) has neighbours (2,2),(3,1),(3,3), none in pred boundary -> R = 3/4 F
    # = 2 * 1/2 * 3/4 / (1/2 + 3/4) = (3/4) / (5/4) = 3/5
    assert M.boundary_f(pred, gt, bound_th=1) == pytest.approx(0.6)
    # bound_th=2: every pred boundary px is within 2 px of column 2, and (3,2) is 2 px
    # from (3,4) -> F = 1
    assert M.boundary_f(pred, gt, bound_th=2) == pytest.approx(1.0)


def test_boundary_f_hand_shifted_squares():
    a, b = _squares()
    # boundaries: ring A = rows 1..11 x cols 1..11, ring B = rows 1..11 x cols 3..13 (40
    # px each) bound_th=1. B's pixels within 1 px (4-neighbourhood) of ring A: top row
    # (row 1, cols 3..13): cols 3..11 on A's top row, col 12 next to (1,11) -> 10 of 11
    # bottom row (row 11): likewise 10 of 11 left column (col 3, rows 2..10): only (2,3)
    # and (10,3), next to A's top/bottom rows -> 2 of 9 right column (col 13, rows
    # 2..10): 0 of 9 P = 22/40; by symmetry R = 22/40; F = 22/40 = 0.55
    assert M.boundary_f(a, b, bound_th=1) == pytest.approx(0.55)
    # bound_th=2: the vertical edges are exactly 2 px apart -> everything matches
    assert M.boundary_f(a, b, bound_th=2) == pytest.approx(1.0)


def test_boundary_f_identical_and_empty():
    a, b = _squares()
    empty = np.zeros_like(a)
    assert M.boundary_f(a, a) == 1.0
    assert M.boundary_f(empty, empty) == 1.0  # both empty
    assert M.boundary_f(a, empty) == 0.0  # exactly one empty
    assert M.boundary_f(empty, b) == 0.0
    # the official quirk, kept: a mask filling the frame has no boundary, so it
    # "matches" an empty one
    assert M.boundary_f(np.ones_like(a), empty) == 1.0


def test_boundary_radius():
    # sqrt(854^2 + 480^2) = sqrt(959716) = 979.65; * 0.008 = 7.84 -> ceil 8
    assert M.boundary_radius((480, 854)) == 8
    assert M.boundary_radius((480, 854), 0.008) == 8
    assert M.boundary_radius((20, 20), 3) == 3  # >= 1: pixels
    assert M.boundary_radius((3, 4), 0.5) == 3  # ceil(0.5 * 5) = 3
    assert M.boundary_radius((3, 4), 0) == 0


def test_boundary_f_default_tolerance_at_davis_size():
    a = np.zeros((480, 854), bool)
    a[100:300, 200:500] = True
    # shifted 8 px: the vertical edges are 8 px apart, inside the 8 px radius -> F = 1
    assert M.boundary_f(np.roll(a, 8, axis=1), a) == 1.0
    # shifted 9 px: the vertical edges no longer match
    assert M.boundary_f(np.roll(a, 9, axis=1), a) < 1.0


def _f_reference(pred, gt, r):
    """Independent F: seg2bmap by a pixel loop, matching by brute-force Euclidean
    distances.
    """

    def bmap(m):
        h, w = m.shape
        out = np.zeros_like(m)
        for i in range(h):
            for j in range(w):
                # east, south, south-east, inside the frame
                nbrs = [(i, j + 1), (i + 1, j), (i + 1, j + 1)]
                out[i, j] = any(m[i, j] != m[y, x] for y, x in nbrs if y < h and x < w)
        return out

    bp, bg = np.argwhere(bmap(pred)), np.argwhere(bmap(gt))
    if len(bp) == 0 and len(bg) == 0:
        return 1.0
    if len(bp) == 0 or len(bg) == 0:
        return 0.0
    d2 = ((bp[:, None, :] - bg[None, :, :]) ** 2).sum(-1)
    p = np.mean(d2.min(axis=1) <= r * r)
    rec = np.mean(d2.min(axis=0) <= r * r)
    return 0.0 if p + rec == 0 else 2 * p * rec / (p + rec)


@pytest.mark.parametrize("seed", range(6))
def test_boundary_f_matches_reference_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    pred = rng.random((15, 22)) < 0.5
    gt = np.roll(pred, 1, axis=0) ^ (rng.random((15, 22)) < 0.2)
    for bound_th in (1, 2, 0.1):
        r = M.boundary_radius(pred.shape, bound_th)
        assert M.boundary_f(pred, gt, bound_th) == pytest.approx(
            _f_reference(pred, gt, r), abs=1e-12
        )


def test_j_and_f():
    a, b = _squares()
    # frames: (a, a): J=1, F=1 | (a, b) with bound_th=1: J=2/3, F=0.55 | (empty, empty):
    # J=1, F=1
    empty = np.zeros_like(a)
    pred = np.stack([a, a, empty])
    gt = np.stack([a, b, empty])
    out = M.j_and_f(pred, gt, bound_th=1)
    assert out["J"] == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert out["F"] == pytest.approx((1 + 0.55 + 1) / 3)
    assert out["J&F"] == pytest.approx((out["J"] + out["F"]) / 2)
    assert out["n_frames"] == 3
    np.testing.assert_allclose(out["F_per_frame"], [1, 0.55, 1])
    # first and last frame excluded: only the middle frame -> J=2/3, F=0.55,
    # J&F=(2/3+0.55)/2
    mid = M.j_and_f(list(pred), list(gt), bound_th=1, exclude_first_last=True)
    assert mid["n_frames"] == 1
    assert mid["J"] == pytest.approx(2 / 3) and mid["F"] == pytest.approx(0.55)
    assert mid["J&F"] == pytest.approx((2 / 3 + 0.55) / 2)


# --------------------------------------------------------------------------------------
# Average precision
# --------------------------------------------------------------------------------------


def test_average_precision_hand():
    # ranking by score: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg)
    # precision@1 = 1/1, precision@3 = 2/3 -> AP = (1 + 2/3) / 2 = 5/6
    assert M.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(
        5 / 6
    )


def test_average_precision_hand_with_ties():
    # no tie: ranking neg 0.9, pos 0.6, pos 0.5 -> precision@2 = 1/2, precision@3 = 2/3
    # -> (1/2 + 2/3)/2 = 7/12
    assert M.average_precision([0, 1, 1], [0.9, 0.6, 0.5]) == pytest.approx(7 / 12)
    # tie (sklearn convention): thresholds 0.9 -> 0 new positives; 0.5 -> both positives
    # arrive at once, precision(score >= 0.5) = 2/3 -> AP = (2/2) * 2/3 = 2/3
    assert M.average_precision([0, 1, 1], [0.9, 0.5, 0.5]) == pytest.approx(2 / 3)


@pytest.mark.parametrize("ties", [False, True])
def test_average_precision_matches_sklearn(ties):
    rng = np.random.default_rng(5)
    for _ in range(5):
        y = rng.integers(0, 2, 200)
        s = rng.normal(size=200) + 0.8 * y
        if ties:
            s = np.round(s, 0)
        assert M.average_precision(y, s) == pytest.approx(
            skm.average_precision_score(y, s), abs=1e-12
        )


def test_mean_average_precision_hand_and_skip():
    # label 0: scores 0.9 (pos), 0.8 (neg), 0.7 (pos) -> AP (1 + 2/3)/2 = 5/6
    # label 1: scores 0.1 (neg), 0.2 (neg), 0.3 (pos) -> pos ranked 1st -> AP 1
    # label 2: no positive -> skipped; mAP = (5/6 + 1) / 2 = 11/12
    Y = [[1, 0, 0], [0, 0, 0], [1, 1, 0]]
    S = [[0.9, 0.1, 0.5], [0.8, 0.2, 0.5], [0.7, 0.3, 0.5]]
    assert M.mean_average_precision(Y, S) == pytest.approx(11 / 12)


def test_mean_average_precision_matches_sklearn_macro():
    rng = np.random.default_rng(6)
    Y = rng.integers(0, 2, (100, 6))
    S = np.round(rng.normal(size=(100, 6)) + Y, 1)
    expected = skm.average_precision_score(Y, S, average="macro")
    assert M.mean_average_precision(Y, S) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------------------
# Screening
# --------------------------------------------------------------------------------------


def test_confusion_sensitivity_specificity_hand():
    # y:    1 1 1 0 0
    # pred: 1 0 1 0 1  -> tp=2 (0,2), fn=1 (1), tn=1 (3), fp=1 (4)
    y, p = [1, 1, 1, 0, 0], [1, 0, 1, 0, 1]
    c = M.confusion_counts(y, p)
    assert c == {"tp": 2, "fp": 1, "tn": 1, "fn": 1}
    assert all(type(v) is int for v in c.values())
    assert M.sensitivity(y, p) == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert M.specificity(y, p) == pytest.approx(1 / 2)  # 1 / (1 + 1)


def test_confusion_counts_match_sklearn():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300).astype(bool)
    p = rng.integers(0, 2, 300)
    tn, fp, fn, tp = skm.confusion_matrix(y, p, labels=[0, 1]).ravel()
    assert M.confusion_counts(y, p) == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    assert M.sensitivity(y, p) == pytest.approx(skm.recall_score(y, p))


# --------------------------------------------------------------------------------------
# EER
# --------------------------------------------------------------------------------------


def test_eer_exact_crossing():
    # genuine 0.9, 0.6; impostor 0.7, 0.5; accept if score >= t t=0.5: FAR 2/2, FRR 0 |
    # t=0.6: FAR 1/2, FRR 0 | t=0.7: FAR 1/2 (0.7), FRR 1/2 (0.6) -> equal: 0.5 at 0.7
    assert M.eer(
        [1, 1, 0, 0], [0.9, 0.6, 0.7, 0.5], return_threshold=True
    ) == pytest.approx((0.5, 0.7))


def test_eer_interpolated_crossing():
    # genuine 0.9, 0.6; impostor 0.7, 0.5, 0.4 t=0.6: FAR 1/3, FRR 0 (d = 1/3) | t=0.7:
    # FAR 1/3, FRR 1/2 (d = -1/6) a = (1/3) / (1/3 + 1/6) = 2/3; EER = 1/3 + a*0 = 1/3
    # (FRR: 0 + 2/3 * 1/2 = 1/3); t = 0.6 + 2/3 * 0.1
    value, t = M.eer([1, 1, 0, 0, 0], [0.9, 0.6, 0.7, 0.5, 0.4], return_threshold=True)
    assert value == pytest.approx(1 / 3)
    assert t == pytest.approx(0.6 + 0.1 * 2 / 3)
    # genuine 0.8, 0.5; impostor 0.5, 0.2 (a genuine/impostor tie at 0.5)
    # t=0.5: FAR 1/2, FRR 0 (d = 1/2) | t=0.8: FAR 0, FRR 1/2 (d = -1/2)
    # a = 1/2; EER = 1/2 - 1/2 * 1/2 = 1/4; t = 0.5 + 1/2 * 0.3 = 0.65
    assert M.eer(
        [1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2], return_threshold=True
    ) == pytest.approx((0.25, 0.65))


def test_eer_extremes():
    assert M.eer([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 0.0  # perfect separation
    assert M.eer([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 1.0  # perfectly inverted
    # all scores equal: accept-all (FAR 1, FRR 0) to reject-all (FAR 0, FRR 1) ->
    # crossing at 1/2
    assert M.eer([1, 0, 1, 0], [3, 3, 3, 3], return_threshold=True) == (0.5, 3.0)


def _eer_reference(y, s):
    """EER from sklearn's ROC: where the ROC polyline crosses FPR = FNR."""
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    d = fpr - (1 - tpr)  # from -1 (nothing accepted) up to +1
    i = int(np.argmax(d >= 0))
    if d[i] == 0:
        return fpr[i]
    a = -d[i - 1] / (d[i] - d[i - 1])
    return fpr[i - 1] + a * (fpr[i] - fpr[i - 1])


@pytest.mark.parametrize("ties", [False, True])
def test_eer_matches_roc_reference(ties):
    rng = np.random.default_rng(8)
    for _ in range(5):
        y = rng.integers(0, 2, 300)
        s = rng.normal(size=300) + 1.2 * y
        if ties:
            s = np.round(s, 1)
        assert M.eer(y, s) == pytest.approx(_eer_reference(y, s), abs=1e-12)


# --------------------------------------------------------------------------------------
# ValueError paths
# --------------------------------------------------------------------------------------

Y, S = [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.4]


@pytest.mark.parametrize(
    "call, match",
    [
        # shared label/score checks (through auc, gauc, log_loss, average_precision,
        # eer)
        (lambda: M.auc([1, 0, 1], [0.1, 0.2]), "different lengths"),
        (lambda: M.auc([], []), "empty"),
        (lambda: M.auc([1, 0], [0.1, float("nan")]), "NaN"),
        (lambda: M.auc([1, 2], [0.1, 0.2]), "binary"),
        (lambda: M.auc([1, 0], ["a", "b"]), "numeric"),
        (lambda: M.auc([[1, 0]], [[0.1, 0.2]]), "1-dimensional"),
        (lambda: M.auc([1, 1, 1], [0.1, 0.2, 0.3]), "single class"),
        (lambda: M.gauc(Y, S, [0, 0, 1]), "different lengths"),
        (lambda: M.gauc(Y, S, [0.0, 0.0, float("nan"), 1.0]), "groups contains NaN"),
        (lambda: M.gauc(Y, S, [[0, 0, 1, 1]]), "1-dimensional"),
        (lambda: M.gauc(Y, S, [0, 1, 2, 3]), "no group"),
        (lambda: M.log_loss([1, 0], [1.2, 0.1]), r"\[0, 1\]"),
        (lambda: M.log_loss([1, 0], [-0.5, 0.1]), r"\[0, 1\]"),
        (lambda: M.log_loss([1, 0], [0.5, float("nan")]), "NaN"),
        (lambda: M.log_loss([1, 0.5], [0.5, 0.5]), "binary"),
        (lambda: M.log_loss([1, 0], [0.5, 0.5], eps=0), "eps"),
        (lambda: M.log_loss([1, 0], [0.5], eps=1e-7), "different lengths"),
        # regression
        (lambda: M.rmse([1, 2], [1]), "different lengths"),
        (lambda: M.rmse([], []), "empty"),
        (lambda: M.rmse([1, float("nan")], [1, 2]), "NaN"),
        (lambda: M.rmse([1, float("inf")], [1, 2]), "infinite"),
        (lambda: M.pearson([1, 1, 1], [1, 2, 3]), "x is constant"),
        (lambda: M.pearson([1, 2, 3], [5, 5, 5]), "y is constant"),
        (lambda: M.pearson([1], [2]), "at least 2"),
        (lambda: M.pearson([1, 2], [1, 2, 3]), "different lengths"),
        (lambda: M.concordance_index([2, 2, 2], [1, 2, 3]), "no pair"),
        (lambda: M.concordance_index([1], [1]), "no pair"),
        (lambda: M.concordance_index([1, 2], [1, float("nan")]), "NaN"),
        (lambda: M.concordance_index([1, 2], [1]), "different lengths"),
        # masks
        (lambda: M.jaccard(np.zeros((2, 3)), np.zeros((3, 2))), "different shapes"),
        (lambda: M.jaccard([[0, 255]], [[0, 1]]), "binary"),
        (lambda: M.dice(np.zeros((2, 2)), np.zeros((2, 3))), "different shapes"),
        (lambda: M.dice(np.zeros((0, 2)), np.zeros((0, 2))), "empty"),
        (lambda: M.boundary_f(np.zeros(4), np.zeros(4)), "2-dimensional"),
        (lambda: M.boundary_f(np.zeros((4, 4)), np.zeros((4, 5))), "different shapes"),
        (
            lambda: M.boundary_f(np.zeros((4, 4)), np.zeros((4, 4)), bound_th=1.5),
            "whole number",
        ),
        (lambda: M.boundary_f(np.zeros((4, 4)), np.zeros((4, 4)), bound_th=-1), ">= 0"),
        (lambda: M.boundary_radius((4,), 0.008), r"\(H, W\)"),
        (lambda: M.boundary_map([[0, 0.5]]), "binary"),
        (lambda: M.j_and_f(np.zeros((4, 4)), np.zeros((4, 4))), "3-dimensional"),
        (
            lambda: M.j_and_f(np.zeros((2, 4, 4)), np.zeros((3, 4, 4))),
            "different shapes",
        ),
        (
            lambda: M.j_and_f(
                np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), exclude_first_last=True
            ),
            "at least 3",
        ),
        (lambda: M.j_and_f(np.zeros((0, 4, 4)), np.zeros((0, 4, 4))), "empty"),
        # average precision
        (lambda: M.average_precision([0, 0, 0], [0.1, 0.2, 0.3]), "no positive"),
        (lambda: M.average_precision([0, 1], [0.1]), "different lengths"),
        (
            lambda: M.mean_average_precision(
                [[0, 0], [0, 0]], [[0.1, 0.2], [0.3, 0.4]]
            ),
            "no label",
        ),
        (lambda: M.mean_average_precision([1, 0], [0.1, 0.2]), "2-dimensional"),
        (
            lambda: M.mean_average_precision([[1, 0]], [[0.1, 0.2, 0.3]]),
            "different shapes",
        ),
        # screening
        (lambda: M.sensitivity([0, 0], [0, 1]), "no positives"),
        (lambda: M.specificity([1, 1], [0, 1]), "no negatives"),
        (lambda: M.confusion_counts([1, 0], [0.7, 0.2]), "y_pred must be binary"),
        (lambda: M.confusion_counts([1, 0, 1], [1, 0]), "different lengths"),
        # EER
        (lambda: M.eer([1, 1], [0.2, 0.3]), "both genuine"),
        (lambda: M.eer([0, 0], [0.2, 0.3]), "both genuine"),
        (lambda: M.eer([1, 0], [0.2, float("nan")]), "NaN"),
        (lambda: M.eer([1, 0, 3], [0.2, 0.3, 0.4]), "binary"),
    ],
)
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
