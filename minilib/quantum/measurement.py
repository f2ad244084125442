"""Projective measurement: Born probabilities, post-measurement states, and a seeded
Monte-Carlo check.

A projective measurement with projectors {P_k} (sum_k P_k = 1) on |psi> gives outcome k
with probability p_k = <psi|P_k|psi> (Born rule) and leaves P_k|psi> / sqrt(p_k). QuTiP
computes both (``qutip.measurement.measurement_statistics_povm``); sampling outcomes
from p_k with a seeded generator reproduces the statistics of repeated experiments.

Used by the chapter "Incoherent control of a locally controllable quantum system".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def eigenbasis_projectors(dim: int) -> list:
    """|k><k| for k = 0..dim-1 (Qobj): the measurement of a complete set of commuting
    observables whose joint eigenbasis is the computational basis (for hydrogen: H, L^2
    and L_z, i.e. the labels n, l, m).
    """
    import qutip

    return [qutip.basis(dim, k).proj() for k in range(dim)]


def born(state, projectors: Sequence) -> tuple[np.ndarray, list]:
    """Born probabilities (n_outcomes,) and post-measurement states (Qobj kets, None
    where p_k = 0).
    """
    from qutip.measurement import measurement_statistics_povm

    total = sum(projectors)
    if not np.allclose(total.full(), np.eye(total.shape[0]), atol=1e-10):
        raise ValueError("the projectors must sum to the identity")
    collapsed, probs = measurement_statistics_povm(state, list(projectors))
    probs = np.clip(np.real(np.asarray(probs, dtype=float)), 0.0, 1.0)
    return probs, list(collapsed)


def sample(probabilities: np.ndarray, n_shots: int, seed: int) -> np.ndarray:
    """Counts per outcome (n_outcomes,) of ``n_shots`` independent measurements, with a
    seeded generator.
    """
    p = np.asarray(probabilities, dtype=float)
    if n_shots < 1:
        raise ValueError("n_shots must be >= 1")
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0, atol=1e-9):
        raise ValueError(
            f"probabilities must be non-negative and sum to 1 (sum {p.sum():.12f})"
        )
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_shots, p / p.sum())


@dataclass
class MonteCarloCheck:
    """Observed frequencies against Born probabilities: per outcome the frequency, the
    probability, the standard error sqrt(p (1 - p) / n_shots) and the deviation in
    standard errors (z).
    """

    frequencies: np.ndarray
    probabilities: np.ndarray
    standard_errors: np.ndarray
    z: np.ndarray
    n_shots: int

    @property
    def max_abs_z(self) -> float:
        """Largest |z| over outcomes with 0 < p < 1."""
        mask = (self.probabilities > 0) & (self.probabilities < 1)
        return float(np.max(np.abs(self.z[mask]))) if mask.any() else 0.0

    def within(self, k: float = 3.0) -> bool:
        """Every outcome within ``k`` standard errors of its probability; impossible
        outcomes never observed.
        """
        impossible = self.probabilities == 0
        return self.max_abs_z <= k and not np.any(self.frequencies[impossible] > 0)


def monte_carlo_check(
    probabilities: np.ndarray, n_shots: int, seed: int
) -> MonteCarloCheck:
    """Sample ``n_shots`` outcomes and compare each frequency with its Born
    probability.
    """
    p = np.asarray(probabilities, dtype=float)
    counts = sample(p, n_shots, seed)
    freq = counts / n_shots
    se = np.sqrt(p * (1 - p) / n_shots)
    z = np.divide(freq - p, se, out=np.zeros_like(p), where=se > 0)
    return MonteCarloCheck(freq, p, se, z, n_shots)
