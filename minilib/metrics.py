"""Evaluation metrics of the book, in plain numpy (and :mod:`scipy.spatial` for the
boundary matching of F).

Every function accepts lists or numpy arrays, checks its inputs (a bad input raises
:class:`ValueError` with a message that says what is wrong) and returns plain Python
numbers. Importing this module does nothing but define functions.

Which chapter uses what:

* PEPNet / TWIN / TWIN-V2 / Pyramid Mixer (recsys): :func:`auc`, :func:`gauc`,
  :func:`log_loss`.
* SAE (drug-target affinity): :func:`rmse`, :func:`pearson`, :func:`concordance_index`.
* Two-shot VOS: :func:`jaccard`, :func:`boundary_f`, :func:`j_and_f` (and
  :func:`boundary_map`, :func:`boundary_radius`, the pieces of the DAVIS contour
  accuracy).
* Multi-label few-shot classification: :func:`average_precision`,
  :func:`mean_average_precision`.
* Gastric/histology screening: :func:`confusion_counts`, :func:`sensitivity`,
  :func:`specificity`, :func:`dice` (and :func:`auc`).
* Disentangled authentication: :func:`eer`.

Conventions: labels are binary, given as ``0``/``1`` or ``False``/``True`` (``1`` =
positive, genuine, foreground); scores are "higher = more likely positive"; masks are
boolean or 0/1 arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "auc",
    "average_precision",
    "boundary_f",
    "boundary_map",
    "boundary_radius",
    "concordance_index",
    "confusion_counts",
    "dice",
    "eer",
    "gauc",
    "j_and_f",
    "jaccard",
    "log_loss",
    "mean_average_precision",
    "pearson",
    "rmse",
    "sensitivity",
    "specificity",
]


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _numeric(
    x: Any, name: str, *, ndim: int | None = 1, finite: bool = False
) -> np.ndarray:
    """``x`` as a float array of the given number of dimensions, non-empty, without
    NaN.
    """
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric (a list or array of numbers)"
        ) from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    if finite and not np.isfinite(a).all():
        raise ValueError(f"{name} contains an infinite value")
    return a


def _binary(x: Any, name: str, *, ndim: int | None = 1, hint: str = "") -> np.ndarray:
    """``x`` as a boolean array; only 0/1 (or False/True) values are accepted."""
    a = np.asarray(x)
    if a.dtype != bool:
        a = _numeric(a, name, ndim=ndim)
        bad = ~((a == 0) | (a == 1))
        if bad.any():
            found = np.unique(a[bad])[:5].tolist()
            raise ValueError(
                f"{name} must be binary (0/1 or bool); found other values, e.g. "
                f"{found}{hint}"
            )
        a = a == 1
    elif ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        if a.ndim == 1 and b.ndim == 1:
            raise ValueError(
                f"{name_a} and {name_b} have different lengths ({a.size} and {b.size})"
            )
        raise ValueError(
            f"{name_a} and {name_b} have different shapes ({a.shape} and {b.shape})"
        )


def _labels_and_scores(
    y_true: Any, y_score: Any, score_name: str = "y_score"
) -> tuple[np.ndarray, np.ndarray]:
    y = _binary(y_true, "y_true")
    s = _numeric(y_score, score_name)
    _same_shape(y, s, "y_true", score_name)
    return y, s


def _mask(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    a = np.asarray(x)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array (H, W), got a scalar")
    return _binary(
        a,
        name,
        ndim=None,
        hint=" (threshold soft masks or compare label maps to an object id first)",
    )


# --------------------------------------------------------------------------------------
# Ranking metrics for click-through prediction (recsys chapters)
# --------------------------------------------------------------------------------------


def _auc_per_group(
    y: np.ndarray, s: np.ndarray, gid: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUC of every group by the rank-sum statistic, ties given their average rank.

    ``gid`` holds group ids 0..n_groups-1 (each present). Returns ``(auc, n_pos,
    n_neg)`` per group; the AUC of a group lacking one class is NaN.
    """
    order = np.lexsort((s, gid))  # by group, then by score ascending
    g, ss, yy = gid[order], s[order], y[order]
    n = g.size
    idx = np.arange(n)
    group_first = np.r_[True, g[1:] != g[:-1]]
    # indexed by group id, as every id 0..n_groups-1 occurs
    start_of_group = idx[group_first]
    rank = idx - start_of_group[g] + 1  # 1-based rank inside the group
    # a block = equal scores in one group
    block_first = group_first | np.r_[True, ss[1:] != ss[:-1]]
    block_last = np.r_[block_first[1:], True]
    mean_rank_of_block = (rank[block_first] + rank[block_last]) / 2.0
    mean_rank = mean_rank_of_block[np.cumsum(block_first) - 1]
    n_pos = np.bincount(g, weights=yy, minlength=n_groups)
    n_neg = np.bincount(g, minlength=n_groups) - n_pos
    rank_sum_pos = np.bincount(g, weights=mean_rank * yy, minlength=n_groups)
    u = rank_sum_pos - n_pos * (n_pos + 1) / 2.0  # Mann-Whitney U of the positives
    with np.errstate(invalid="ignore", divide="ignore"):
        per_group = u / (n_pos * n_neg)
    per_group[(n_pos == 0) | (n_neg == 0)] = np.nan
    return per_group, n_pos, n_neg


def auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve, computed as the Mann-Whitney rank statistic.

    AUC = P(score of a random positive > score of a random negative), a tie counting
    1/2: with the scores ranked 1..n (tied scores sharing their average rank), ``AUC =
    (R_pos - P(P+1)/2) / (P N)``, where ``R_pos`` is the rank sum of the ``P`` positives
    and ``N`` the number of negatives.

    Args:
        y_true: (n,) binary labels, 0/1 or bool (1 = positive, e.g. a click). y_score:
            (n,) real scores, higher = more likely positive (probabilities or logits
            alike).

    Returns:
        The AUC in [0, 1] (0.5 = chance).

    Raises:
        ValueError: empty input, lengths differ, NaN in the scores, non-binary labels,
            or ``y_true`` holding a single class (the AUC is then undefined).

    Used in: PEPNet / TWIN / TWIN-V2 / Pyramid Mixer (recsys); Gastric/histology
    screening.
    """
    y, s = _labels_and_scores(y_true, y_score)
    per_group, n_pos, n_neg = _auc_per_group(y, s, np.zeros(y.size, dtype=np.intp), 1)
    if n_pos[0] == 0 or n_neg[0] == 0:
        raise ValueError(
            "AUC is undefined: y_true has a single class (need both positives and "
            "negatives)"
        )
    return float(per_group[0])


def gauc(
    y_true: Any, y_score: Any, groups: Any, *, return_details: bool = False
) -> float | tuple[float, int]:
    """Group AUC (GAUC) as reported by recommender papers: the impression-weighted mean
    of per-user AUCs.

    ``GAUC = sum_g n_g AUC_g / sum_g n_g``, where ``AUC_g`` is :func:`auc` restricted to
    the rows of group ``g`` (typically one user) and the weight ``n_g`` is the group's
    number of rows (impressions). Only groups holding both a positive and a negative
    enter the sum (the others have no AUC and are skipped, neither in the numerator nor
    in the denominator).

    Args:
        y_true: (n,) binary labels, 0/1 or bool. y_score: (n,) real scores. groups: (n,)
            group key of each row (user id); any values ``numpy.unique`` can sort.
            return_details: if True, also return the number of groups that were used.

    Returns:
        The GAUC as a float, or ``(gauc, n_groups_used)`` when ``return_details`` is
        True.

    Raises:
        ValueError: empty input, lengths differ, NaN in scores or group keys, non-binary
            labels, or no group holding both classes.

    Used in: PEPNet / TWIN / TWIN-V2 / Pyramid Mixer (recsys).
    """
    y, s = _labels_and_scores(y_true, y_score)
    keys = np.asarray(groups)
    if keys.ndim != 1:
        raise ValueError(f"groups must be 1-dimensional, got shape {keys.shape}")
    _same_shape(y, keys, "y_true", "groups")
    if keys.dtype.kind in "fc" and np.isnan(keys).any():
        raise ValueError("groups contains NaN")
    try:
        _, gid = np.unique(keys, return_inverse=True)
    except TypeError:
        raise ValueError(
            "groups must hold keys of one sortable type (e.g. all ints or all strings)"
        ) from None
    gid = gid.reshape(-1)
    n_groups = int(gid.max()) + 1
    per_group, n_pos, n_neg = _auc_per_group(y, s, gid, n_groups)
    used = (n_pos > 0) & (n_neg > 0)
    if not used.any():
        raise ValueError(
            "GAUC is undefined: no group holds both a positive and a negative"
        )
    weights = (n_pos + n_neg)[used]
    value = float(np.sum(weights * per_group[used]) / np.sum(weights))
    if return_details:
        return value, int(used.sum())
    return value


def log_loss(y_true: Any, y_prob: Any, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy ("LogLoss") of predicted probabilities.

    ``-mean(y log p + (1 - y) log(1 - p))`` with ``p`` first clipped to ``[eps, 1 -
    eps]``, so that a confident mistake costs at most ``-log(eps)`` (about 16.1 for the
    default) instead of infinity.

    Args:
        y_true: (n,) binary labels, 0/1 or bool. y_prob: (n,) predicted probabilities of
            the positive class, each in [0, 1] (not logits). eps: clipping constant, 0 <
            eps < 0.5.

    Returns:
        The mean log loss in nats (natural logarithm), >= 0.

    Raises:
        ValueError: empty input, lengths differ, NaN, non-binary labels, a probability
            outside [0, 1], or ``eps`` outside (0, 0.5).

    Used in: PEPNet / TWIN / TWIN-V2 / Pyramid Mixer (recsys).
    """
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps}")
    y, p = _labels_and_scores(y_true, y_prob, "y_prob")
    if (p < 0).any() or (p > 1).any():
        raise ValueError(
            f"y_prob must hold probabilities in [0, 1]; found values in [{p.min():g}, "
            f"{p.max():g}] "
            "(pass sigmoid(logits), not logits)"
        )
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


# --------------------------------------------------------------------------------------
# Regression metrics of drug-target affinity (SAE chapter)
# --------------------------------------------------------------------------------------


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mean((y_true - y_pred)^2))``.

    Args:
        y_true: (n,) true values (e.g. pKd affinities).
        y_pred: (n,) predictions.

    Returns:
        The RMSE, >= 0, in the unit of ``y_true``.

    Raises:
        ValueError: empty input, lengths differ, NaN or infinite values.

    Used in: SAE (drug-target affinity).
    """
    t = _numeric(y_true, "y_true", finite=True)
    p = _numeric(y_pred, "y_pred", finite=True)
    _same_shape(t, p, "y_true", "y_pred")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def pearson(x: Any, y: Any) -> float:
    """Pearson correlation coefficient ``cov(x, y) / (std(x) std(y))``.

    Args:
        x: (n,) values, n >= 2.
        y: (n,) values.

    Returns:
        The correlation in [-1, 1].

    Raises:
        ValueError: fewer than 2 values, lengths differ, NaN or infinite values, or a
            constant ``x`` or ``y`` (the correlation is then undefined; scipy would
            return NaN with a warning).

    Used in: SAE (drug-target affinity).
    """
    a = _numeric(x, "x", finite=True)
    b = _numeric(y, "y", finite=True)
    _same_shape(a, b, "x", "y")
    if a.size < 2:
        raise ValueError("pearson needs at least 2 values")
    for v, name in ((a, "x"), (b, "y")):
        if np.all(v == v[0]):
            raise ValueError(
                f"{name} is constant: the Pearson correlation is undefined"
            )
    da = a - a.mean()
    db = b - b.mean()
    r = np.dot(da, db) / (np.sqrt(np.dot(da, da)) * np.sqrt(np.dot(db, db)))
    return float(np.clip(r, -1.0, 1.0))


def _tied_pairs(sorted_values: np.ndarray) -> int:
    """Number of pairs of equal values in an array sorted so that equal values are
    adjacent.
    """
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    run_lengths = np.diff(np.r_[np.flatnonzero(first), sorted_values.size])
    return int(np.sum(run_lengths * (run_lengths - 1) // 2))


def _tied_pairs_rows(a: np.ndarray, b: np.ndarray) -> int:
    """Number of pairs i < j with a[i] == a[j] and b[i] == b[j]; (a, b) sorted
    lexicographically.
    """
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    run_lengths = np.diff(np.r_[np.flatnonzero(first), a.size])
    return int(np.sum(run_lengths * (run_lengths - 1) // 2))


def _count_inversions(a: np.ndarray) -> int:
    """Number of pairs of positions i < j with a[i] > a[j] (strictly), for non-negative
    integers ``a``.

    Bottom-up over block widths 1, 2, 4, ...: at width ``w`` the positions fall into
    blocks of ``w``, and every pair of positions is counted exactly once, at the width
    where its two positions lie in the left and right block of the same pair of blocks.
    For each element of a right block, the number of larger elements of its left block
    is found by ``searchsorted`` on keys ``pair_index * m + value`` (all pairs at once).
    Each width costs one sort of n/2 keys: O(n log^2 n) in all, vectorised.
    """
    n = a.size
    a = a.astype(np.int64)
    m = int(a.max()) + 1 if n else 1
    pos = np.arange(n, dtype=np.int64)
    total = 0
    width = 1
    while width < n:
        block = pos // width
        pair = block // 2
        right = (block % 2) == 1
        left_keys = np.sort(pair[~right] * m + a[~right])
        r_pair = pair[right]
        # elements of the (full, since a right block exists) left block that are <= the
        # right element
        n_le = np.searchsorted(
            left_keys, r_pair * m + a[right], side="right"
        ) - np.searchsorted(left_keys, r_pair * m, side="left")
        total += int(np.sum(width - n_le))
        width *= 2
    return total


def concordance_index(y_true: Any, y_pred: Any) -> float:
    """Concordance index (CI) of affinity predictions, as defined in DeepDTA.

    Over all pairs ``(i, j)`` with ``y_true[i] > y_true[j]`` (pairs with equal
    ``y_true`` are ignored), the fraction where ``y_pred[i] > y_pred[j]``, a tie
    ``y_pred[i] == y_pred[j]`` counting 1/2::

        CI = (#concordant + 0.5 #tied_pred) / #comparable

    Computed in O(n log^2 n) without any pair loop: sort by (y_true, y_pred), count
    discordant pairs as strict inversions of the sorted predictions, and the tied pairs
    from the run lengths of equal values. n = 30,000 takes a few tens of milliseconds.

    Args:
        y_true: (n,) true affinities (e.g. pKd or KIBA scores).
        y_pred: (n,) predicted affinities.

    Returns:
        The CI in [0, 1] (0.5 = random ordering).

    Raises:
        ValueError: empty input, lengths differ, NaN values, or no comparable pair (all
            ``y_true`` equal, or a single value).

    Used in: SAE (drug-target affinity).
    """
    t = _numeric(y_true, "y_true")
    p = _numeric(y_pred, "y_pred")
    _same_shape(t, p, "y_true", "y_pred")
    n = t.size
    order = np.lexsort((p, t))  # by y_true, then y_pred, ascending
    t_s, p_s = t[order], p[order]
    comparable = n * (n - 1) // 2 - _tied_pairs(t_s)
    if comparable == 0:
        raise ValueError(
            "concordance index is undefined: no pair has different y_true values"
        )
    # equal y_pred, different y_true
    tied_pred = _tied_pairs(np.sort(p)) - _tied_pairs_rows(t_s, p_s)
    p_rank = np.unique(p_s, return_inverse=True)[1].reshape(-1)
    discordant = _count_inversions(p_rank)
    concordant = comparable - discordant - tied_pred
    return float((concordant + 0.5 * tied_pred) / comparable)


# --------------------------------------------------------------------------------------
# Video object segmentation (DAVIS J and F)
# --------------------------------------------------------------------------------------


def jaccard(pred_mask: Any, gt_mask: Any) -> float:
    """Region similarity J of DAVIS: the intersection over union of two binary masks.

    ``J = |pred & gt| / |pred | gt|``, and 1.0 when both masks are empty (empty union),
    as in the official DAVIS evaluation.

    Args:
        pred_mask: (H, W) predicted mask, bool or 0/1 (any shape is accepted if both
            shapes match). gt_mask: ground-truth mask, same shape.

    Returns:
        J in [0, 1].

    Raises:
        ValueError: shapes differ, empty arrays, or values other than 0/1 (threshold
            soft masks and compare label maps to the object id first).

    Used in: Two-shot VOS.
    """
    a = _mask(pred_mask, "pred_mask")
    b = _mask(gt_mask, "gt_mask")
    _same_shape(a, b, "pred_mask", "gt_mask")
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(a & b) / union)


def boundary_map(mask: Any) -> np.ndarray:
    """Boundary pixels of a binary mask, by the rule of the official DAVIS ``seg2bmap``.

    A pixel is a boundary pixel when its value differs from that of its east, south or
    south-east neighbour (8-neighbourhood, one-sided), neighbours outside the frame not
    being compared. The rule is applied to every pixel, so a boundary pixel may be a
    background pixel (just west of / north of the object) as well as a foreground one:
    the boundary sits half a pixel towards the origin. On the last row only the east
    neighbour is compared, on the last column only the south neighbour, and the
    bottom-right pixel is never a boundary: the image frame itself is not a boundary (a
    mask touching or filling the frame has no boundary along the frame). Examples: the
    mask "first c columns set" has exactly column ``c - 1`` as its boundary; a filled
    rectangle on rows r0..r1, columns c0..c1 (away from the frame) has as boundary the
    one-pixel ring of the rectangle rows r0-1..r1, columns c0-1..c1.

    Args:
        mask: (H, W) mask, bool or 0/1.

    Returns:
        (H, W) bool array.

    Raises:
        ValueError: not 2-D, empty, or values other than 0/1.

    Used in: Two-shot VOS (through :func:`boundary_f`).
    """
    m = _mask(mask, "mask", ndim=2)
    east = np.zeros_like(m)
    south = np.zeros_like(m)
    south_east = np.zeros_like(m)
    east[:, :-1] = m[:, 1:]
    south[:-1, :] = m[1:, :]
    south_east[:-1, :-1] = m[1:, 1:]
    b = (m ^ east) | (m ^ south) | (m ^ south_east)
    b[-1, :] = m[-1, :] ^ east[-1, :]
    b[:, -1] = m[:, -1] ^ south[:, -1]
    b[-1, -1] = False
    return b


def boundary_radius(shape: tuple[int, ...], bound_th: float = 0.008) -> int:
    """Tolerance radius (pixels) of the DAVIS contour accuracy for a frame of the given
    shape.

    ``bound_th`` itself if ``bound_th >= 1`` (a radius in pixels, which must then be a
    whole number), otherwise ``ceil(bound_th * sqrt(H^2 + W^2))``: a fraction of the
    image diagonal. The default 0.008 gives 8 px at 854x480 (diagonal 979.7 px).

    Args:
        shape: (H, W) of the frame (extra trailing entries are not allowed).
        bound_th: pixels if >= 1, fraction of the diagonal if in [0, 1).

    Returns:
        The radius as an int >= 0.

    Raises:
        ValueError: ``shape`` not two positive sizes, ``bound_th`` negative / NaN, or a
            non-integer ``bound_th`` >= 1.

    Used in: Two-shot VOS (through :func:`boundary_f`).
    """
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(
            f"shape must be (H, W) with positive sizes, got {tuple(shape)}"
        )
    if not bound_th >= 0:  # also catches NaN
        raise ValueError(f"bound_th must be >= 0, got {bound_th}")
    if bound_th >= 1:
        if bound_th != int(bound_th):
            raise ValueError(
                "bound_th >= 1 is a radius in pixels and must be a whole number, got "
                f"{bound_th}"
            )
        return int(bound_th)
    h, w = shape
    return int(math.ceil(bound_th * math.sqrt(h * h + w * w)))


def boundary_f(pred_mask: Any, gt_mask: Any, bound_th: float = 0.008) -> float:
    """Contour accuracy F of DAVIS: F-measure of boundary pixels matched within a
    tolerance.

    1. Boundaries: :func:`boundary_map` of each mask (the ``seg2bmap`` rule: a pixel
       differing from its east, south or south-east neighbour).
    2. Tolerance: ``r = boundary_radius((H, W), bound_th)`` (``bound_th`` px if >= 1,
       else ``ceil(bound_th * diagonal)``; 8 px at 854x480). Each boundary map is
       dilated with the disk ``dy^2 + dx^2 <= r^2`` (pixels outside the frame count as
       empty).
    3. ``P = |B_pred & dilate(B_gt)| / |B_pred|``, ``R = |B_gt & dilate(B_pred)| /
       |B_gt|``, ``F = 2PR / (P + R)``, and 0 when ``P + R = 0``.

    Edge cases follow the official code, which decides them on the boundary maps: both
    boundaries empty -> 1.0 (in particular both masks empty); exactly one boundary empty
    -> 0.0 (in particular one mask empty and the other not). Note the official quirk
    this inherits: a mask filling the whole frame has an empty boundary, so it scores
    1.0 against an empty mask.

    Args:
        pred_mask: (H, W) predicted mask, bool or 0/1. gt_mask: (H, W) ground-truth
            mask, same shape. bound_th: tolerance, pixels if >= 1 (whole number),
            fraction of the diagonal if < 1.

    Returns:
        F in [0, 1].

    Raises:
        ValueError: masks not 2-D, shapes differ, empty arrays, non-binary values, or a
            bad ``bound_th`` (see :func:`boundary_radius`).

    Used in: Two-shot VOS.
    """
    from scipy.spatial import cKDTree

    a = _mask(pred_mask, "pred_mask", ndim=2)
    b = _mask(gt_mask, "gt_mask", ndim=2)
    _same_shape(a, b, "pred_mask", "gt_mask")
    radius = boundary_radius(a.shape, bound_th)
    bp, bg = boundary_map(a), boundary_map(b)
    n_pred, n_gt = int(bp.sum()), int(bg.sum())
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    # A boundary pixel is matched when the other boundary has a pixel within the disk
    # dy^2 + dx^2 <= r^2, i.e. within Euclidean distance r: the same as dilating with
    # the disk, found by a nearest-neighbour query on the boundary pixels (a few
    # thousand points) instead of dilating whole images.
    pts_p, pts_g = np.argwhere(bp), np.argwhere(bg)
    d_p = cKDTree(pts_g).query(pts_p, k=1, distance_upper_bound=radius + 0.5)[0]
    d_g = cKDTree(pts_p).query(pts_g, k=1, distance_upper_bound=radius + 0.5)[0]
    precision = np.count_nonzero(d_p <= radius + 1e-6) / n_pred
    recall = np.count_nonzero(d_g <= radius + 1e-6) / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def j_and_f(
    pred_masks: Any,
    gt_masks: Any,
    bound_th: float = 0.008,
    *,
    exclude_first_last: bool = False,
) -> dict[str, Any]:
    """Mean J, mean F and their average "J&F" of one object over the frames of a
    sequence.

    J (:func:`jaccard`) and F (:func:`boundary_f`) are computed on every frame, averaged
    over frames, and ``J&F = (mean J + mean F) / 2``. In the semi-supervised DAVIS
    protocol the first frame (whose mask is given) and the last frame are not scored: by
    default this function scores **every** frame it is given and the caller drops those
    two; ``exclude_first_last=True`` drops them here instead. Several objects: call once
    per object and average the results as the benchmark does.

    Args:
        pred_masks: (T, H, W) predicted masks of one object, bool or 0/1 (or a list of
            (H, W) masks). gt_masks: (T, H, W) ground-truth masks, same shape. bound_th:
            tolerance of F, see :func:`boundary_f`. exclude_first_last: if True, score
            frames 1..T-2 only (needs T >= 3).

    Returns:
        ``{"J": mean J, "F": mean F, "J&F": their mean, "J_per_frame": (T',) array,
        "F_per_frame": (T',) array, "n_frames": T'}``, with T' the number of frames
        scored.

    Raises:
        ValueError: not 3-D, shapes differ, no frame to score (T = 0, or T < 3 with
            ``exclude_first_last``), non-binary values or a bad ``bound_th``.

    Used in: Two-shot VOS.
    """
    a = _mask(pred_masks, "pred_masks", ndim=3)
    b = _mask(gt_masks, "gt_masks", ndim=3)
    _same_shape(a, b, "pred_masks", "gt_masks")
    if exclude_first_last:
        if a.shape[0] < 3:
            raise ValueError(
                f"exclude_first_last needs at least 3 frames, got {a.shape[0]}"
            )
        a, b = a[1:-1], b[1:-1]
    js = np.array([jaccard(p, g) for p, g in zip(a, b, strict=True)])
    fs = np.array([boundary_f(p, g, bound_th) for p, g in zip(a, b, strict=True)])
    j_mean, f_mean = float(js.mean()), float(fs.mean())
    return {
        "J": j_mean,
        "F": f_mean,
        "J&F": (j_mean + f_mean) / 2.0,
        "J_per_frame": js,
        "F_per_frame": fs,
        "n_frames": int(js.size),
    }


# --------------------------------------------------------------------------------------
# Multi-label classification
# --------------------------------------------------------------------------------------


def average_precision(y_true: Any, y_score: Any) -> float:
    """Average precision (AP) of one label: the mean of precision@k over the ranks k of
    the positives.

    Rank the samples by decreasing score; AP = (1/P) sum over positives of (precision at
    the rank of that positive), the standard non-interpolated AP. Ties are handled as
    scikit-learn's ``average_precision_score``: a group of equal scores is one
    threshold, so AP = sum over distinct score values ``t`` (decreasing) of ``(new
    positives at t / P) * precision(score >= t)``. Without ties the two descriptions
    coincide.

    Args:
        y_true: (n,) binary relevance of each sample for this label, 0/1 or bool.
        y_score: (n,) scores, higher = more likely relevant.

    Returns:
        AP in [0, 1].

    Raises:
        ValueError: empty input, lengths differ, NaN scores, non-binary labels, or no
            positive (AP is then undefined).

    Used in: Multi-label few-shot classification.
    """
    y, s = _labels_and_scores(y_true, y_score)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("average precision is undefined: y_true has no positive")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = np.cumsum(y_sorted)[last_of_tie]
    n_above = np.flatnonzero(last_of_tie) + 1  # samples with score >= this threshold
    precision = tp / n_above
    new_pos = np.diff(np.r_[0, tp])
    return float(np.sum(new_pos * precision) / n_pos)


def mean_average_precision(Y_true: Any, Y_score: Any) -> float:
    """Mean average precision (mAP) over the labels of a multi-label problem.

    :func:`average_precision` of each column (label), averaged with equal weights over
    the labels that have at least one positive; labels with no positive in ``Y_true``
    are skipped (their AP is undefined; scikit-learn's macro average would instead count
    them as 0 with a warning).

    Args:
        Y_true: (n_samples, n_labels) binary label matrix, 0/1 or bool.
        Y_score: (n_samples, n_labels) scores.

    Returns:
        mAP in [0, 1].

    Raises:
        ValueError: not 2-D, shapes differ, empty, NaN, non-binary labels, or no label
            with a positive.

    Used in: Multi-label few-shot classification.
    """
    y = _binary(Y_true, "Y_true", ndim=2)
    s = _numeric(Y_score, "Y_score", ndim=2)
    _same_shape(y, s, "Y_true", "Y_score")
    has_pos = y.any(axis=0)
    if not has_pos.any():
        raise ValueError(
            "mean average precision is undefined: no label has a positive in Y_true"
        )
    aps = [average_precision(y[:, k], s[:, k]) for k in np.flatnonzero(has_pos)]
    return float(np.mean(aps))


# --------------------------------------------------------------------------------------
# Screening (binary decisions) and segmentation overlap
# --------------------------------------------------------------------------------------


def confusion_counts(y_true: Any, y_pred: Any) -> dict[str, int]:
    """Confusion-matrix counts of binary decisions.

    Args:
        y_true: (n,) true binary labels, 0/1 or bool (1 = disease / positive).
        y_pred: (n,) predicted binary labels (already thresholded), 0/1 or bool.

    Returns:
        ``{"tp": int, "fp": int, "tn": int, "fn": int}``, summing to n.

    Raises:
        ValueError: empty input, lengths differ, NaN, or values other than 0/1 in either
            input.

    Used in: Gastric/histology screening.
    """
    t = _binary(y_true, "y_true")
    p = _binary(y_pred, "y_pred")
    _same_shape(t, p, "y_true", "y_pred")
    return {
        "tp": int(np.count_nonzero(t & p)),
        "fp": int(np.count_nonzero(~t & p)),
        "tn": int(np.count_nonzero(~t & ~p)),
        "fn": int(np.count_nonzero(t & ~p)),
    }


def sensitivity(y_true: Any, y_pred: Any) -> float:
    """Sensitivity (recall, true positive rate) ``TP / (TP + FN)``.

    Args:
        y_true: (n,) true binary labels, 0/1 or bool.
        y_pred: (n,) predicted binary labels, 0/1 or bool.

    Returns:
        The fraction of positives predicted positive, in [0, 1].

    Raises:
        ValueError: as :func:`confusion_counts`, or no positive in ``y_true`` (zero
            denominator).

    Used in: Gastric/histology screening.
    """
    c = confusion_counts(y_true, y_pred)
    if c["tp"] + c["fn"] == 0:
        raise ValueError(
            "sensitivity is undefined: y_true has no positives (TP + FN = 0)"
        )
    return c["tp"] / (c["tp"] + c["fn"])


def specificity(y_true: Any, y_pred: Any) -> float:
    """Specificity (true negative rate) ``TN / (TN + FP)``.

    Args:
        y_true: (n,) true binary labels, 0/1 or bool.
        y_pred: (n,) predicted binary labels, 0/1 or bool.

    Returns:
        The fraction of negatives predicted negative, in [0, 1].

    Raises:
        ValueError: as :func:`confusion_counts`, or no negative in ``y_true`` (zero
            denominator).

    Used in: Gastric/histology screening.
    """
    c = confusion_counts(y_true, y_pred)
    if c["tn"] + c["fp"] == 0:
        raise ValueError(
            "specificity is undefined: y_true has no negatives (TN + FP = 0)"
        )
    return c["tn"] / (c["tn"] + c["fp"])


def dice(pred_mask: Any, gt_mask: Any) -> float:
    """Dice coefficient ``2 |A & B| / (|A| + |B|)`` of two binary masks; 1.0 when both
    are empty.

    Args:
        pred_mask: (H, W) predicted mask, bool or 0/1 (any shape if both shapes match).
        gt_mask: ground-truth mask, same shape.

    Returns:
        Dice in [0, 1] (equals ``2J / (1 + J)`` with J the :func:`jaccard` index).

    Raises:
        ValueError: shapes differ, empty arrays, or values other than 0/1.

    Used in: Gastric/histology screening.
    """
    a = _mask(pred_mask, "pred_mask")
    b = _mask(gt_mask, "gt_mask")
    _same_shape(a, b, "pred_mask", "gt_mask")
    total = np.count_nonzero(a) + np.count_nonzero(b)
    if total == 0:
        return 1.0
    return float(2 * np.count_nonzero(a & b) / total)


# --------------------------------------------------------------------------------------
# Verification (authentication)
# --------------------------------------------------------------------------------------


def eer(
    y_true: Any, y_score: Any, *, return_threshold: bool = False
) -> float | tuple[float, float]:
    """Equal error rate (EER) of a verification system.

    A pair is accepted when ``score >= t``. For each threshold ``t`` among the distinct
    scores (ascending), plus a final "reject everything" point:

    * FAR(t) = fraction of impostor pairs (``y_true == 0``) accepted, i.e. with score >=
      t;
    * FRR(t) = fraction of genuine pairs (``y_true == 1``) rejected, i.e. with score <
      t.

    FAR falls from 1 (at the lowest score, everything accepted) to 0 and FRR rises from
    0 to 1, so ``d = FAR - FRR`` goes from > 0 to -1 without ever increasing. If some
    threshold has ``d == 0`` exactly, the EER is FAR there (the lowest such threshold is
    returned). Otherwise let ``k`` be the first point with ``d < 0``: FAR and FRR are
    interpolated linearly between points ``k - 1`` and ``k`` and the EER is their common
    value where they meet, ``a = d[k-1] / (d[k-1] - d[k])``, ``EER = FAR[k-1] + a
    (FAR[k] - FAR[k-1])``. This is the point where the straight ROC segment between the
    two operating points crosses the line FAR = FRR (the same value as the common
    ``brentq(interp1d(fpr, tpr))`` recipe). The returned threshold is interpolated the
    same way, ``t[k-1] + a (t[k] - t[k-1])``; when the crossing lies between the highest
    score and "reject everything" it is reported as the highest score.

    Args:
        y_true: (n,) 1 = genuine pair, 0 = impostor pair (bool accepted).
        y_score: (n,) similarity scores, higher = more likely genuine.
        return_threshold: if True, return ``(eer, threshold)``.

    Returns:
        The EER in [0, 1] (0.0 for perfectly separated scores, 1.0 for perfectly
        inverted ones), or ``(eer, threshold)``.

    Raises:
        ValueError: empty input, lengths differ, NaN scores, non-binary labels, or only
            one class (needs both genuine and impostor pairs).

    Used in: Disentangled authentication.
    """
    y, s = _labels_and_scores(y_true, y_score)
    genuine, impostor = np.sort(s[y]), np.sort(s[~y])
    if genuine.size == 0 or impostor.size == 0:
        raise ValueError(
            "EER is undefined: y_true must contain both genuine (1) and impostor (0) "
            "pairs"
        )
    thresholds = np.unique(s)
    far = (
        impostor.size - np.searchsorted(impostor, thresholds, side="left")
    ) / impostor.size
    frr = np.searchsorted(genuine, thresholds, side="left") / genuine.size
    far = np.r_[far, 0.0]  # the "reject everything" point
    frr = np.r_[frr, 1.0]
    d = far - frr
    # first point where FRR has caught up; exists since d[-1] = -1, k >= 1
    k = int(np.argmax(d <= 0))
    if d[k] == 0:
        value, threshold = float(far[k]), float(thresholds[k])
    else:
        a = d[k - 1] / (d[k - 1] - d[k])
        value = float(far[k - 1] + a * (far[k] - far[k - 1]))
        if k < thresholds.size:
            threshold = float(
                thresholds[k - 1] + a * (thresholds[k] - thresholds[k - 1])
            )
        else:
            threshold = float(thresholds[-1])
    if return_threshold:
        return value, threshold
    return value
