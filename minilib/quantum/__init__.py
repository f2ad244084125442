"""Quantum control on QuTiP: the truncated hydrogen atom, controllability, and the
three-step incoherent scheme.

Used by the chapter "Incoherent control of a locally controllable quantum system" (Dong,
Zhang, Rabitz, Pechen, Tarn, J. Chem. Phys. 2008). Importing this package does not
import QuTiP; the functions do.
"""

from .control import (
    GrapeResult,
    LyapunovResult,
    fidelity,
    grape_transfer,
    lyapunov_amplification,
    propagate,
    sesolve_piecewise,
)
from .controllability import (
    coupling_blocks,
    eigenspace_bases,
    lie_algebra_dimension,
    restrict,
    subspace_report,
)
from .hydrogen import (
    HydrogenModel,
    Level,
    dipole_element,
    energy,
    hydrogen_model,
    levels,
    radial_integral,
)
from .measurement import (
    MonteCarloCheck,
    born,
    eigenbasis_projectors,
    monte_carlo_check,
    sample,
)

__all__ = [
    "GrapeResult",
    "HydrogenModel",
    "Level",
    "LyapunovResult",
    "MonteCarloCheck",
    "born",
    "coupling_blocks",
    "dipole_element",
    "eigenbasis_projectors",
    "eigenspace_bases",
    "energy",
    "fidelity",
    "grape_transfer",
    "hydrogen_model",
    "levels",
    "lie_algebra_dimension",
    "lyapunov_amplification",
    "monte_carlo_check",
    "propagate",
    "radial_integral",
    "restrict",
    "sample",
    "sesolve_piecewise",
    "subspace_report",
]
