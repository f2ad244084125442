"""The truncated hydrogen atom in a classical electric field, in atomic units, as QuTiP
operators.

Bound states |n l m> with n <= n_max (no spin, no fine structure), energies E_n = -1/(2
n^2) hartree, and the dipole operators z and x between them. Every dipole matrix element
is computed, never typed in:

    <n1 l1 m1| r_q |n2 l2 m2> = R(n1 l1; n2 l2) * A_q(l1 m1; l2 m2)

- the radial integral R = int_0^inf R_{n1 l1}(r) R_{n2 l2}(r) r^3 dr, done exactly by
  sympy on the hydrogen radial functions (sympy.physics.hydrogen.R_nl, its phase
  convention);
- the angular factor from Gaunt coefficients (integrals of three spherical harmonics,
  sympy.physics.wigner): z = r cos(theta) = r sqrt(4 pi / 3) Y_10 and x = r sin(theta)
  cos(phi) = r sqrt(2 pi / 3) (Y_1,-1 - Y_11).

The selection rules follow from the Gaunt coefficients themselves: z couples only Delta
l = +-1, Delta m = 0; x couples only Delta l = +-1, Delta m = +-1.

Used by the chapter "Incoherent control of a locally controllable quantum system".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import numpy as np

L_LETTERS = "spdfghik"


class Level(NamedTuple):
    """A bound state |n l m> of hydrogen."""

    n: int
    l: int
    m: int

    @property
    def label(self) -> str:
        """Spectroscopic label: ``1s``, ``2p0``, ``3d-1`` (m is omitted for s
        states).
        """
        base = f"{self.n}{L_LETTERS[self.l]}"
        return base if self.l == 0 else f"{base}{self.m:+d}".replace("+0", "0")


def levels(n_max: int) -> list[Level]:
    """All |n l m> with 1 <= n <= n_max, ordered by n, then l, then m: n_max (n_max+1)(2
    n_max+1)/6 states.
    """
    if not isinstance(n_max, int) or n_max < 1:
        raise ValueError(f"n_max must be a positive integer, got {n_max!r}")
    return [
        Level(n, l, m)
        for n in range(1, n_max + 1)
        for l in range(n)
        for m in range(-l, l + 1)
    ]


def energy(n: int) -> float:
    """Bound-state energy E_n = -1/(2 n^2) in hartree (atomic units)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return -0.5 / n**2


@cache
def radial_integral(n1: int, l1: int, n2: int, l2: int):
    """Exact int_0^inf R_{n1 l1} R_{n2 l2} r^3 dr (a sympy number, atomic units, sympy's
    phase convention).
    """
    import sympy as sp
    from sympy.physics.hydrogen import R_nl

    for n, l in ((n1, l1), (n2, l2)):
        if not 0 <= l < n:
            raise ValueError(f"need 0 <= l < n, got n={n}, l={l}")
    r = sp.symbols("r", positive=True)
    return sp.nsimplify(
        sp.simplify(
            sp.integrate(R_nl(n1, l1, r, 1) * R_nl(n2, l2, r, 1) * r**3, (r, 0, sp.oo))
        )
    )


def _y1_integral(l1: int, m1: int, l2: int, m2: int, q: int):
    """int conj(Y_{l1 m1}) Y_{1 q} Y_{l2 m2} dOmega, exactly (a Gaunt coefficient)."""
    from sympy.physics.wigner import gaunt

    # conj(Y_lm) = (-1)^m Y_{l,-m}
    return (-1) ** m1 * gaunt(l1, 1, l2, -m1, q, m2)


@cache
def angular_factor(l1: int, m1: int, l2: int, m2: int, axis: str):
    """<l1 m1| r_axis / r |l2 m2> for axis "z" (cos theta) or "x" (sin theta cos phi),
    exactly.
    """
    import sympy as sp

    if axis == "z":
        return sp.sqrt(4 * sp.pi / 3) * _y1_integral(l1, m1, l2, m2, 0)
    if axis == "x":
        return sp.sqrt(2 * sp.pi / 3) * (
            _y1_integral(l1, m1, l2, m2, -1) - _y1_integral(l1, m1, l2, m2, 1)
        )
    raise ValueError(f"axis must be 'z' or 'x', got {axis!r}")


def dipole_element(a: Level, b: Level, axis: str = "z"):
    """Exact <a| r_axis |b> in atomic units (bohr), as a sympy expression (0 where a
    selection rule forbids it).
    """
    import sympy as sp

    if abs(a.l - b.l) != 1:
        return sp.Integer(0)
    ang = angular_factor(a.l, a.m, b.l, b.m, axis)
    if ang == 0:
        return sp.Integer(0)
    return sp.nsimplify(sp.simplify(radial_integral(a.n, a.l, b.n, b.l) * ang))


@dataclass
class HydrogenModel:
    """Hydrogen truncated to n <= n_max, with the operators the chapter uses (all
    ``qutip.Qobj``, dims N x N).

    ``H0``: diag(E_n); ``Z``, ``X``: the dipole operators z and x (bohr); the
    Hamiltonian in a field E(t) = (E_x(t), 0, E_z(t)) is H0 + E_z(t) Z + E_x(t) X
    (dipole approximation; the electron's charge -1 is absorbed into the sign of the
    field). ``levels[i]`` is the state of basis index i.
    """

    n_max: int
    levels: list[Level]
    H0: object
    Z: object
    X: object
    exact_z: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return len(self.levels)

    def index(self, n: int, l: int, m: int) -> int:
        """Basis index of |n l m>; a state outside the truncation raises ValueError."""
        try:
            return self.levels.index(Level(n, l, m))
        except ValueError:
            raise ValueError(
                f"|{n} {l} {m}> is not a bound state kept with n_max={self.n_max}"
            ) from None

    def ket(self, n: int, l: int, m: int):
        """The basis ket |n l m> (Qobj, N x 1)."""
        import qutip

        return qutip.basis(self.dim, self.index(n, l, m))

    def state(self, amplitudes: dict[tuple[int, int, int], complex]):
        """The normalised ket sum_k a_k |n l m>_k from {(n, l, m): a_k}."""
        psi = sum(a * self.ket(*nlm) for nlm, a in amplitudes.items())
        return psi.unit()

    def projector(self, indices) -> object:
        """Projector (Qobj, N x N) onto the span of the basis states with the given
        indices.
        """
        import qutip

        diag = np.zeros(self.dim)
        diag[list(indices)] = 1.0
        return qutip.Qobj(np.diag(diag))

    def indices(self, m: int | None = None) -> list[int]:
        """Basis indices of the states with magnetic quantum number ``m`` (all when
        None).
        """
        return [i for i, s in enumerate(self.levels) if m is None or s.m == m]

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.levels]

    def reflection_y(self):
        """The reflection y -> -y as an operator: |l m> -> (-1)^m |l, -m> (Qobj, real
        orthogonal, S^2 = 1).

        z and x are unchanged by the reflection, so S commutes with H0, Z and X: every
        field in the x-z plane keeps the +1 and -1 eigenspaces of S apart. (Phase
        convention of sympy's Y_lm: Y_l,-m = (-1)^m conj(Y_lm).)
        """
        import qutip

        S = np.zeros((self.dim, self.dim))
        for i, s in enumerate(self.levels):
            S[self.index(s.n, s.l, -s.m), i] = (-1) ** s.m
        return qutip.Qobj(S)


def hydrogen_model(n_max: int = 3) -> HydrogenModel:
    """Build the truncated model: N = sum_{n<=n_max} n^2 states (14 for n_max = 3, 30
    for 4, 55 for 5).

    The radial integrals are exact (sympy) and cached; n_max = 3 builds in well under a
    second.
    """
    import qutip

    lv = levels(n_max)
    N = len(lv)
    Z = np.zeros((N, N))
    X = np.zeros((N, N))
    exact_z = {}
    for i, a in enumerate(lv):
        for j, b in enumerate(lv):
            if j < i or abs(a.l - b.l) != 1:
                continue
            z = dipole_element(a, b, "z")
            x = dipole_element(a, b, "x")
            Z[i, j] = Z[j, i] = float(z)
            X[i, j] = X[j, i] = float(x)
            if z != 0:
                exact_z[(a, b)] = z
    H0 = np.diag([energy(s.n) for s in lv])
    return HydrogenModel(
        n_max=n_max,
        levels=lv,
        H0=qutip.Qobj(H0),
        Z=qutip.Qobj(Z),
        X=qutip.Qobj(X),
        exact_z=exact_z,
    )
