"""Mask overlap and contours: the DAVIS measures J and F (two-shot VOS) and the Dice
coefficient (whole-slide screening).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._checks import _mask, _same_shape

__all__ = [
    "boundary_f",
    "boundary_map",
    "boundary_radius",
    "dice",
    "j_and_f",
    "jaccard",
]


def jaccard(pred_mask: Any, gt_mask: Any) -> float:
    """Region similarity J of DAVIS: the intersection over union of two binary masks.

    ``J = |pred & gt| / |pred | gt|``, and 1.0 when both masks are empty (empty union),
    as in the official DAVIS evaluation.

    Args:
        pred_mask: (H, W) predicted mask, bool or 0/1 (any shape is accepted if both
            shapes match).
        gt_mask: ground-truth mask, same shape.

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
        pred_mask: (H, W) predicted mask, bool or 0/1.
        gt_mask: (H, W) ground-truth mask, same shape.
        bound_th: tolerance, pixels if >= 1 (whole number), fraction of the diagonal if
            < 1.

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
            (H, W) masks).
        gt_masks: (T, H, W) ground-truth masks, same shape.
        bound_th: tolerance of F, see :func:`boundary_f`.
        exclude_first_last: if True, score frames 1..T-2 only (needs T >= 3).

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
