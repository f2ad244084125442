"""Chemistry helpers: fingerprints and Tanimoto similarity (RDKit), train/test splits
(random, scaffold, SAE) and light affinity models with per-similarity-bin errors. Used
by the datasets and SAE chapters.
"""

from .similarity import (
    SIMILARITY_BINS,
    Fingerprints,
    bin_fractions,
    ecfp4,
    max_similarity,
    tanimoto,
)
from .splits import (
    Neighbours,
    Split,
    fit_error,
    neighbours,
    random_split,
    sae_split,
    scaffold_split,
    split_histogram,
    swap_refine,
    target_distribution,
)

__all__ = [
    "SIMILARITY_BINS",
    "Fingerprints",
    "Neighbours",
    "Split",
    "bin_fractions",
    "ecfp4",
    "fit_error",
    "max_similarity",
    "neighbours",
    "random_split",
    "sae_split",
    "scaffold_split",
    "split_histogram",
    "swap_refine",
    "tanimoto",
    "target_distribution",
]
