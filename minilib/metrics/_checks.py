"""Input checks shared by the metrics: every metric refuses a bad input with a message
that says what is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
