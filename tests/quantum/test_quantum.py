"""minilib.quantum: the hydrogen model, controllability, control laws and measurement
statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

qutip = pytest.importorskip("qutip")

from minilib.quantum import (  # noqa: E402
    born,
    coupling_blocks,
    dipole_element,
    eigenbasis_projectors,
    eigenspace_bases,
    energy,
    fidelity,
    grape_transfer,
    hydrogen_model,
    levels,
    lie_algebra_dimension,
    lyapunov_amplification,
    monte_carlo_check,
    propagate,
    sample,
    sesolve_piecewise,
)
from minilib.quantum.hydrogen import Level  # noqa: E402


@pytest.fixture(scope="module")
def h3():
    return hydrogen_model(3)


@pytest.fixture(scope="module")
def h2():
    return hydrogen_model(2)


def test_levels_and_energies():
    assert len(levels(3)) == 14 and len(levels(4)) == 30
    assert [lv.label for lv in levels(2)] == ["1s", "2s", "2p-1", "2p0", "2p+1"]
    for n in range(1, 6):
        assert energy(n) == -1 / (2 * n**2)
    with pytest.raises(ValueError):
        levels(0)
    with pytest.raises(ValueError):
        energy(0)


@pytest.mark.parametrize(
    ("a", "b", "closed_form"),
    [
        ((1, 0, 0), (2, 1, 0), 128 * math.sqrt(2) / 243),
        ((1, 0, 0), (3, 1, 0), 27 * math.sqrt(2) / 128),
        ((2, 0, 0), (2, 1, 0), -3.0),
        ((2, 0, 0), (3, 1, 0), 27648 / 15625),
        ((2, 1, 0), (3, 0, 0), 3456 * math.sqrt(6) / 15625),
        ((2, 1, 0), (3, 2, 0), 110592 * math.sqrt(3) / 78125),
        ((3, 0, 0), (3, 1, 0), -3 * math.sqrt(6)),
        ((3, 1, 0), (3, 2, 0), -3 * math.sqrt(3)),
    ],
)
def test_dipole_closed_forms(a, b, closed_form):
    # magnitudes are convention-free; signs follow sympy's R_nl phases (as in the
    # chapter's table)
    assert float(dipole_element(Level(*a), Level(*b), "z")) == pytest.approx(
        closed_form, abs=1e-12
    )


def test_angular_factor_for_m_nonzero():
    # <2p+1|z|3d+1> = radial(2p, 3d) * sqrt(((l+1)^2 - m^2) / ((2l+1)(2l+3))) with l =
    # 1, m = 1: sqrt(3/15)
    m1 = float(dipole_element(Level(2, 1, 1), Level(3, 2, 1)))
    ratio = m1 / float(dipole_element(Level(2, 1, 0), Level(3, 2, 0)))
    assert ratio == pytest.approx(math.sqrt(3 / 15) / math.sqrt(4 / 15), abs=1e-12)


def test_selection_rules_and_hermiticity(h3):
    Z, X = h3.Z.full(), h3.X.full()
    assert np.allclose(Z, Z.conj().T) and np.allclose(X, X.conj().T)
    full_x = np.array(
        [[float(dipole_element(a, b, "x")) for b in h3.levels] for a in h3.levels]
    )
    # the model fills the lower triangle by symmetry; check against all elements
    assert np.allclose(full_x, X)
    for i, a in enumerate(h3.levels):
        for j, b in enumerate(h3.levels):
            if abs(Z[i, j]) > 0:
                assert abs(a.l - b.l) == 1 and a.m == b.m
            if abs(X[i, j]) > 0:
                assert abs(a.l - b.l) == 1 and abs(a.m - b.m) == 1
    assert np.allclose(h3.H0.full(), np.diag([energy(s.n) for s in h3.levels]))


def test_model_helpers(h3):
    assert h3.dim == 14 and h3.index(2, 1, 0) == 3
    with pytest.raises(ValueError, match="not a bound state"):
        h3.index(4, 0, 0)
    psi = h3.state({(1, 0, 0): 1.0, (2, 1, 0): 1.0})
    assert psi.norm() == pytest.approx(1.0)
    S = h3.reflection_y().full()
    assert np.allclose(S @ S, np.eye(14))
    for op in (h3.H0, h3.Z, h3.X):
        assert np.allclose(S @ op.full(), op.full() @ S)


def test_lie_dimension_small_cases():
    sz, sx = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    assert lie_algebra_dimension([sz, sx]) == 3  # su(2)
    assert lie_algebra_dimension([sz + np.eye(2), sx]) == 4  # u(2)
    # commuting: no new direction
    assert lie_algebra_dimension([sz, np.diag([2.0, 0.0])]) == 2
    with pytest.raises(ValueError):
        lie_algebra_dimension([sz, np.eye(3)])


def test_hydrogen_local_controllability(h3, h2):
    # << 196: not controllable on the whole space
    assert lie_algebra_dimension([h3.H0, h3.Z]) == 44
    # = 10^2 + 4^2 - 1: the two reflection sectors
    assert lie_algebra_dimension([h3.H0, h3.Z, h3.X]) == 115
    blocks = coupling_blocks([h2.H0, h2.Z])
    assert [[h2.labels[i] for i in b] for b in blocks] == [
        ["1s", "2s", "2p0"],
        ["2p-1"],
        ["2p+1"],
    ]
    m0 = np.eye(h3.dim)[:, h3.indices(m=0)]
    assert (
        lie_algebra_dimension([m0.T @ h3.H0.full() @ m0, m0.T @ h3.Z.full() @ m0]) == 36
    )
    sectors = eigenspace_bases(h3.reflection_y())
    assert sorted(b.shape[1] for b in sectors.values()) == [4, 10]


def test_propagate_matches_sesolve(h2):
    rng = np.random.default_rng(0)
    amps = rng.uniform(-0.05, 0.05, size=(40, 2))
    psi0 = h2.ket(1, 0, 0)
    exact = propagate(h2.H0, [h2.Z, h2.X], amps, 2.0, psi0)
    solved = sesolve_piecewise(h2.H0, [h2.Z, h2.X], amps, 2.0, psi0)
    assert exact.shape == (41, 5)
    assert fidelity(solved.states[-1], exact[-1]) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(np.linalg.norm(exact, axis=1), 1.0)


def test_lyapunov_raises_subspace_probability(h3):
    psi0 = h3.state({(1, 0, 0): 0.3, (2, 1, 1): 1.0, (2, 1, -1): -1.0})
    P = h3.projector(h3.indices(m=0))
    res = lyapunov_amplification(h3.H0, h3.X, P, psi0, T=200, dt=0.05)
    assert res.probability[-1] > res.probability[0] + 0.3
    # monotone up to the slot discretisation
    assert np.min(np.diff(res.probability)) > -1e-4
    assert np.all(np.abs(res.field) <= 0.05 + 1e-12)
    with pytest.raises(ValueError, match="commute"):
        lyapunov_amplification(
            h3.H0, h3.X, h3.projector([0, 3]) + h3.Z * 0.1, psi0, T=10, dt=1
        )


def test_grape_state_transfer_is_deterministic(h2):
    target = h2.ket(2, 1, 0)
    a = grape_transfer(
        h2.H0,
        [h2.Z],
        h2.ket(1, 0, 0),
        target,
        T=300,
        n_slots=150,
        u_max=0.05,
        restarts=1,
    )
    b = grape_transfer(
        h2.H0,
        [h2.Z],
        h2.ket(1, 0, 0),
        target,
        T=300,
        n_slots=150,
        u_max=0.05,
        restarts=1,
    )
    assert a.fidelity >= 0.99
    assert np.array_equal(a.amplitudes, b.amplitudes)
    assert np.all(np.abs(a.amplitudes) <= 0.05 + 1e-12)
    final = propagate(h2.H0, [h2.Z], a.amplitudes, a.dt, h2.ket(1, 0, 0), every=150)[-1]
    assert fidelity(final, target) == pytest.approx(a.fidelity)


def test_born_rule_and_post_measurement_states(h2):
    psi = h2.state({(1, 0, 0): 0.6, (2, 1, 0): 0.8j})
    probs, post = born(psi, eigenbasis_projectors(h2.dim))
    assert np.allclose(probs, [0.36, 0, 0, 0.64, 0])
    assert abs(post[3].overlap(h2.ket(2, 1, 0))) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sum to the identity"):
        born(psi, eigenbasis_projectors(h2.dim)[:-1])


def test_sampling_and_monte_carlo_check():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    assert np.array_equal(sample(p, 1000, 7), sample(p, 1000, 7))
    counts = sample(p, 100_000, 1)
    assert counts.sum() == 100_000 and counts[3] == 0
    check = monte_carlo_check(p, 100_000, 1)
    assert check.within(3.0) == (check.max_abs_z <= 3.0)
    assert np.allclose(
        check.standard_errors[:3], np.sqrt(p[:3] * (1 - p[:3]) / 100_000)
    )
    biased = monte_carlo_check(np.array([0.5, 0.5]), 10_000, 0)
    biased.frequencies[:] = [0.6, 0.4]
    biased.z[:] = (biased.frequencies - 0.5) / biased.standard_errors
    assert not biased.within(3.0)  # a 20-SE deviation is caught
    with pytest.raises(ValueError, match="sum to 1"):
        sample(np.array([0.5, 0.6]), 10, 0)
