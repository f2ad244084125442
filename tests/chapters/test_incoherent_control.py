"""The quantum-control chapter's recorded results (results/10_incoherent_control.json,
scale ci).

The chapter asserts its claims itself; this test re-reads the recorded values with
stated tolerances, so a change of CPU (last-bit differences in GRAPE or in the Lyapunov
trajectory) cannot break it, while a change of behaviour does.
"""

from __future__ import annotations

import math

import pytest

CHAPTER = (
    "10_incoherent_control"  # the fixture r of conftest reads its committed results
)


def test_closed_forms(r):
    assert r["z_1s_2p0"] == pytest.approx(128 * math.sqrt(2) / 243, abs=1e-12)
    assert r["energies"] == {"E1": -0.5, "E2": -0.125, "E3": pytest.approx(-1 / 18)}


def test_local_controllability(r):
    assert r["lie_dim_z_full"] == 44 and r["lie_dim_zx_full"] == 115
    assert r["lie_dim_z_blocks"] == [36, 9, 9, 1, 1] and r["block_sizes_z"] == [
        6,
        3,
        3,
        1,
        1,
    ]
    assert r["lie_dim_zx_sectors"] == [100, 16] and r["sector_sizes"] == [10, 4]


def test_amplification_and_success(r):
    p0, p1, bound = (
        r["p_desired_initial"],
        r["p_desired_amplified"],
        r["amplification_bound_class1"],
    )
    assert p0 == pytest.approx(0.1037, abs=1e-4)  # set by the initial state, exact
    assert 0.8 * bound <= p1 <= bound + 1e-9
    assert p1 == pytest.approx(0.867, abs=0.02)
    assert r["class2_p_ground_initial"] < r["class2_p_ground_amplified"] <= p0 + 1e-9
    assert r["class2_p_ground_amplified"] == pytest.approx(p0, abs=1e-3)


def test_final_fidelity(r):
    assert r["steering_fidelity_min"] >= 0.99
    assert len(r["steering_fidelities"]) == 6


def test_monte_carlo_agrees_with_born(r):
    assert abs(r["mc_success_z"]) <= 3
    assert r["mc_chi2_pvalue"] > 0.0027
    assert 0.0 < r["mc_per_outcome_false_alarm_rate"] < 0.15
