"""Binary decisions and verification: confusion counts, sensitivity and specificity
(whole-slide screening), the equal error rate (authentication).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import _binary, _labels_and_scores, _same_shape

__all__ = ["confusion_counts", "eer", "sensitivity", "specificity"]


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
