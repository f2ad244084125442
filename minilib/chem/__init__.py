"""Chemistry: fingerprints and Tanimoto similarity (RDKit), train/test splits and their
similarity histograms, light affinity models with per-similarity-bin errors (shared:
:mod:`.similarity`, :mod:`.splits`, :mod:`.dta`), and the SAE paper's split
(:mod:`.sae`). Used by the datasets and SAE chapters.
"""

from .sae import Neighbours, neighbours, sae_split, swap_refine
from .similarity import (
    SIMILARITY_BINS,
    Fingerprints,
    bin_fractions,
    ecfp4,
    max_similarity,
    tanimoto,
)
from .splits import (
    Split,
    fit_error,
    random_split,
    scaffold_split,
    split_histogram,
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
