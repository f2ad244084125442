"""Regression metrics of drug-target affinity (the SAE chapter): RMSE, Pearson's r
and the concordance index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import _numeric, _same_shape

__all__ = ["concordance_index", "pearson", "rmse"]


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
