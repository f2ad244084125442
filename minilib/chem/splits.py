"""Train/test splits of a set of compounds, and the test-to-train similarity histogram
each one achieves.

- :func:`random_split`: a uniformly random test set;
- :func:`scaffold_split`: whole Bemis-Murcko scaffold groups go to one side, the largest
  groups to train;
- the similarity aware split of the SAE paper is in :mod:`minilib.chem.sae`.

:func:`split_histogram` measures any split as a :class:`Split`: train and test indices
(into the fingerprint rows), every test compound's maximum similarity to train, the bin
fractions it achieved and, given a target (:func:`target_distribution`), the fit error
(the mean absolute deviation of the bin fractions from the target).

Used by the datasets and SAE chapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from minilib.chem.similarity import (
    SIMILARITY_BINS,
    bin_fractions,
    max_similarity,
)

__all__ = [
    "Split",
    "fit_error",
    "n_test_compounds",
    "random_split",
    "scaffold_split",
    "scaffolds",
    "split_histogram",
    "target_distribution",
]


# --------------------------------------------------------------------------------------
# Results and histograms
# --------------------------------------------------------------------------------------


@dataclass
class Split:
    """A train/test split and the similarity histogram it achieves.

    ``train``, ``test``: sorted int64 row indices; ``max_sim``: (n_test,) largest
    Tanimoto similarity of each test compound (in the order of ``test``) to the training
    set; ``edges``: the bin edges; ``fractions``: (n_bins,) share of the test set in
    each bin; ``target``: (n_bins,) target fractions or None; ``fit_error``: mean
    absolute deviation ``mean_k |fractions_k - target_k|`` (None without a target);
    ``info``: method details (seconds, iterations, the optimiser's trace, ...).
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    max_sim: np.ndarray
    edges: tuple[float, ...]
    fractions: np.ndarray
    target: np.ndarray | None = None
    fit_error: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def test_ratio(self) -> float:
        return len(self.test) / (len(self.train) + len(self.test))


def fit_error(fractions: Sequence[float], target: Sequence[float]) -> float:
    """Mean absolute deviation of achieved bin fractions from the target: ``mean_k |f_k
    - E_k|``.
    """
    f, e = np.asarray(fractions, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if f.shape != e.shape:
        raise ValueError(
            f"fractions and target differ in shape: {f.shape} vs {e.shape}"
        )
    return float(np.mean(np.abs(f - e)))


def _check_indices(
    n: int, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    train, test = (
        np.sort(np.asarray(train, dtype=np.int64)),
        np.sort(np.asarray(test, dtype=np.int64)),
    )
    if len(train) == 0 or len(test) == 0:
        raise ValueError(
            f"train and test must both be non-empty, got {len(train)} and {len(test)}"
        )
    if np.intersect1d(train, test).size:
        raise ValueError("train and test overlap")
    if train.min() < 0 or test.min() < 0 or max(train.max(), test.max()) >= n:
        raise ValueError(f"indices must lie in [0, {n})")
    return train, test


def split_histogram(
    bits: np.ndarray,
    train: Sequence[int],
    test: Sequence[int],
    edges: Sequence[float] = SIMILARITY_BINS,
    target: Sequence[float] | None = None,
    name: str = "split",
    info: dict | None = None,
) -> Split:
    """Measure a split: each test compound's largest Tanimoto similarity to train, and
    its bin fractions.

    ``bits``: (N, n_bits) 0/1 fingerprints; ``train``, ``test``: row indices. Returns a
    :class:`Split`.
    """
    train, test = _check_indices(len(bits), np.asarray(train), np.asarray(test))
    ms = max_similarity(bits[test], bits[train])
    fractions = bin_fractions(ms, edges)
    t = None if target is None else np.asarray(target, dtype=np.float64)
    err = None if t is None else fit_error(fractions, t)
    return Split(
        name, train, test, ms, tuple(edges), fractions, t, err, dict(info or {})
    )


def target_distribution(
    kind: str,
    edges: Sequence[float] = SIMILARITY_BINS,
    *,
    reference: Sequence[float] | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> np.ndarray:
    """Target bin fractions (n_bins,), summing to 1, for the SAE split.

    - ``"balanced"``: the same share in every bin;
    - ``"mimic"``: the histogram ``reference`` (counts or fractions per bin, e.g. of an
      external test set);
    - ``"range"``: the same share in every bin inside ``[lo, hi]`` and 0 elsewhere (bins
      must not straddle ``lo`` or ``hi``).
    """
    n_bins = len(edges) - 1
    if n_bins < 1:
        raise ValueError("need at least two edges")
    if kind == "balanced":
        return np.full(n_bins, 1.0 / n_bins)
    if kind == "mimic":
        if reference is None or len(reference) != n_bins:
            raise ValueError(
                f"'mimic' needs a reference histogram with {n_bins} values"
            )
        ref = np.asarray(reference, dtype=np.float64)
        if np.any(ref < 0) or ref.sum() <= 0:
            raise ValueError(
                "the reference histogram must be non-negative and not all zero"
            )
        return ref / ref.sum()
    if kind == "range":
        if lo is None or hi is None or not lo < hi:
            raise ValueError("'range' needs lo < hi")
        e = np.asarray(edges, dtype=np.float64)
        inside = (e[:-1] >= lo - 1e-12) & (e[1:] <= hi + 1e-12)
        straddle = ((e[:-1] < lo - 1e-12) & (e[1:] > lo + 1e-12)) | (
            (e[:-1] < hi - 1e-12) & (e[1:] > hi + 1e-12)
        )
        if straddle.any() or not inside.any():
            raise ValueError(
                f"[{lo}, {hi}] must be a union of whole bins of {list(edges)}"
            )
        return inside / inside.sum()
    raise ValueError(f"kind must be 'balanced', 'mimic' or 'range', got {kind!r}")


# --------------------------------------------------------------------------------------
# Random and scaffold splits
# --------------------------------------------------------------------------------------


def n_test_compounds(n: int, test_ratio: float) -> int:
    """``round(test_ratio * n)``, checked: both sides of the split must be non-empty."""
    if not 0 < test_ratio < 1:
        raise ValueError(f"test_ratio must be in (0, 1), got {test_ratio}")
    n_test = int(round(test_ratio * n))
    if not 0 < n_test < n:
        raise ValueError(f"{n} compounds are too few for test_ratio {test_ratio}")
    return n_test


def random_split(
    n: int, test_ratio: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random ``(train, test)`` row indices of ``n`` compounds,
    ``round(test_ratio * n)`` in test.
    """
    n_test = n_test_compounds(n, test_ratio)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def scaffolds(smiles: Sequence[str]) -> list[str | None]:
    """Bemis-Murcko scaffold SMILES of each molecule (RDKit); ``""`` for acyclic
    molecules, None if unparsable.
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Scaffolds import MurckoScaffold

    out: list[str | None] = []
    RDLogger.DisableLog("rdApp.*")
    try:
        for smi in smiles:
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
            out.append(
                None
                if mol is None
                else MurckoScaffold.MurckoScaffoldSmiles(
                    mol=mol, includeChirality=False
                )
            )
    finally:
        RDLogger.EnableLog("rdApp.*")
    return out


def scaffold_split(
    smiles: Sequence[str], test_ratio: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Scaffold split: compounds grouped by Bemis-Murcko scaffold; groups sorted by size
    (largest first, ties by scaffold string) fill train up to ``(1 - test_ratio) N``;
    the remaining, smaller groups form test.

    No scaffold is on both sides. The test set is therefore made of rare scaffolds
    (often singletons), the usual "harder" split. Deterministic. Raises ``ValueError``
    for an unparsable SMILES (pass only the rows that parsed, e.g.
    ``Fingerprints.valid``).
    """
    scaf = scaffolds(smiles)
    bad = [i for i, s in enumerate(scaf) if s is None]
    if bad:
        raise ValueError(f"rows {bad[:10]} do not parse; pass only valid SMILES")
    n = len(scaf)
    n_train = n - n_test_compounds(n, test_ratio)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scaf):
        groups.setdefault(s, []).append(i)
    train: list[int] = []
    test: list[int] = []
    for key in sorted(groups, key=lambda s: (-len(groups[s]), s)):
        (train if len(train) + len(groups[key]) <= n_train else test).extend(
            groups[key]
        )
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(
        np.asarray(test, dtype=np.int64)
    )
