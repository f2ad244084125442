"""Evaluation metrics of the book, in plain numpy (and :mod:`scipy.spatial` for the
boundary matching of F).

One module per kind of metric (:mod:`.ranking`, :mod:`.regression`,
:mod:`.segmentation`, :mod:`.classification`); every name is re-exported here. Every
function accepts lists or numpy arrays, checks its inputs (a bad input raises
:class:`ValueError` with a message that says what is wrong) and returns plain Python
numbers. Importing the package does nothing but define functions.

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

from .classification import confusion_counts, eer, sensitivity, specificity
from .ranking import auc, average_precision, gauc, log_loss, mean_average_precision
from .regression import concordance_index, pearson, rmse
from .segmentation import (
    boundary_f,
    boundary_map,
    boundary_radius,
    dice,
    j_and_f,
    jaccard,
)

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
