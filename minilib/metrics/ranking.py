"""Ranking metrics: AUC, GAUC and log loss for click-through prediction (the
recommendation chapters), average precision and its mean over labels (multi-label
few-shot classification).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import _binary, _labels_and_scores, _numeric, _same_shape

__all__ = ["auc", "average_precision", "gauc", "log_loss", "mean_average_precision"]


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
        y_true: (n,) binary labels, 0/1 or bool (1 = positive, e.g. a click).
        y_score: (n,) real scores, higher = more likely positive (probabilities or
            logits alike).

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
        y_true: (n,) binary labels, 0/1 or bool.
        y_score: (n,) real scores.
        groups: (n,) group key of each row (user id); any values ``numpy.unique`` can
            sort.
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
        y_true: (n,) binary labels, 0/1 or bool.
        y_prob: (n,) predicted probabilities of the positive class, each in [0, 1] (not
            logits).
        eps: clipping constant, 0 < eps < 0.5.

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
