"""Incoherent control of a locally controllable quantum system, on QuTiP.

D. Dong, C. Zhang, H. Rabitz, A. Pechen, T.-J. Tarn, "Incoherent control of locally
controllable quantum systems", J. Chem. Phys. 129, 154103 (2008), arXiv:0810.3814.

Only the paper's abstract could be read (see the chapter), so the map below follows the
three steps the abstract states; the hydrogen model and both control laws are our
reconstruction:

======================================================  ===============================
the scheme                                              code
======================================================  ===============================
the system: a hydrogen atom in an external field        :mod:`.hydrogen`
                                                        (:func:`hydrogen_model`)
"locally controllable": controllable on invariant       :mod:`.controllability`
subspaces                                               (:func:`lie_algebra_dimension`,
                                                        :func:`subspace_report`)
step 1, amplitude amplification by a unitary            :func:`lyapunov_amplification`
step 2, a projective measurement                        :mod:`.measurement`
                                                        (:func:`born`,
                                                        :func:`monte_carlo_check`)
step 3, steering the measured eigenstate to the target  :func:`grape_transfer`
======================================================  ===============================

Importing this package does not import QuTiP; the functions do.

Used by the incoherent control chapter.
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
