"""Chemistry helpers: fingerprints and Tanimoto similarity (RDKit), used by the datasets and SAE chapters."""

from .similarity import SIMILARITY_BINS, Fingerprints, bin_fractions, ecfp4, max_similarity, tanimoto

__all__ = ["SIMILARITY_BINS", "Fingerprints", "bin_fractions", "ecfp4", "max_similarity", "tanimoto"]
