"""Control fields for the three-step scheme: piecewise-constant propagation, a Lyapunov
amplification law, GRAPE state transfer (qutip-qtrl), and a QuTiP ``sesolve``
cross-check of any designed field.

Units are atomic units throughout (time in hbar/E_h = 24.19 as, field in E_h/(e a_0) =
5.14e11 V/m).

Used by the chapter "Incoherent control of a locally controllable quantum system".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _arr(op) -> np.ndarray:
    return np.asarray(op.full() if hasattr(op, "full") else op, dtype=complex)


def _ket(psi) -> np.ndarray:
    return _arr(psi).reshape(-1)


def _step(h: np.ndarray, dt: float) -> np.ndarray:
    """exp(-i h dt) for Hermitian h, through its eigen-decomposition."""
    w, v = np.linalg.eigh(h)
    return (v * np.exp(-1j * w * dt)) @ v.conj().T


def propagate(
    H0, controls: Sequence, amplitudes: np.ndarray, dt: float, psi0, every: int = 1
) -> np.ndarray:
    """Evolve ``psi0`` under H0 + sum_k u_k H_k with piecewise-constant amplitudes
    (exact within each slot).

    ``amplitudes``: (n_slots, n_controls); slot j acts on [j dt, (j+1) dt). Returns the
    states at times 0, every*dt, 2*every*dt, ... and the final time: an array (n_saved,
    N) of complex amplitudes.
    """
    amplitudes = np.asarray(amplitudes, dtype=float).reshape(len(amplitudes), -1)
    h0, hs = _arr(H0), [_arr(h) for h in controls]
    if amplitudes.shape[1] != len(hs):
        raise ValueError(
            f"{amplitudes.shape[1]} amplitude columns for {len(hs)} control operators"
        )
    psi = _ket(psi0)
    saved = [psi]
    for j, u in enumerate(amplitudes, start=1):
        psi = _step(h0 + sum(uk * hk for uk, hk in zip(u, hs, strict=True)), dt) @ psi
        if j % every == 0 or j == len(amplitudes):
            saved.append(psi)
    return np.array(saved)


@dataclass
class LyapunovResult:
    """A field designed by the Lyapunov law: ``times`` (n_slots + 1,), ``field``
    (n_slots,) held on each slot, ``probability`` (n_slots + 1,) of the target subspace
    along the way, and the final state (N,).
    """

    times: np.ndarray
    field: np.ndarray
    probability: np.ndarray
    final_state: np.ndarray
    seconds: float


def lyapunov_amplification(
    H0, Hc, P, psi0, *, T: float, dt: float, gain: float = 1.0, u_max: float = 0.05
) -> LyapunovResult:
    """Raise <psi|P|psi> with one control field, by the Lyapunov law u = u_max tanh(gain
    * g / u_max).

    Here g(psi) = i <psi|[Hc, P]|psi>. When P commutes with H0 (P projects on
    eigenstates of H0), d<P>/dt = u(t) g(psi(t)), so with u of the sign of g the
    probability never decreases (in continuous time; the piecewise-constant slots of
    length ``dt`` add small ripples). The law needs no optimisation: it is evaluated on
    the simulated state, and the recorded field is then applied open loop.
    """
    if T <= 0 or dt <= 0 or u_max <= 0:
        raise ValueError("T, dt and u_max must be positive")
    h0, hc, p = _arr(H0), _arr(Hc), _arr(P)
    if not np.allclose(h0 @ p, p @ h0, atol=1e-12):
        raise ValueError("P must commute with H0 (a projector on eigenstates of H0)")
    comm = hc @ p - p @ hc
    psi = _ket(psi0)
    n = int(round(T / dt))
    field = np.empty(n)
    prob = np.empty(n + 1)
    prob[0] = np.real(psi.conj() @ p @ psi)
    t0 = time.perf_counter()
    for j in range(n):
        g = float(np.real(1j * (psi.conj() @ comm @ psi)))
        u = u_max * np.tanh(gain * g / u_max)
        field[j] = u
        psi = _step(h0 + u * hc, dt) @ psi
        prob[j + 1] = np.real(psi.conj() @ p @ psi)
    return LyapunovResult(
        np.arange(n + 1) * dt, field, prob, psi, time.perf_counter() - t0
    )


@dataclass
class GrapeResult:
    """A piecewise-constant field from GRAPE: ``amplitudes`` (n_slots, n_controls) on
    slots of ``dt``, the fidelity |<target|psi(T)>|^2 reached (recomputed by exact
    propagation), iterations and wall time.
    """

    amplitudes: np.ndarray
    dt: float
    fidelity: float
    iterations: int
    seconds: float
    termination: str

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.amplitudes) + 1) * self.dt


def fidelity(psi, target) -> float:
    """|<target|psi>|^2 for two kets (Qobj or arrays)."""
    return float(abs(np.vdot(_ket(target), _ket(psi))) ** 2)


def grape_transfer(
    H0,
    controls: Sequence,
    psi0,
    target,
    *,
    T: float,
    n_slots: int,
    u_max: float,
    fid_err_targ: float = 1e-4,
    max_iter: int = 500,
    num_waves: int = 8,
    restarts: int = 3,
    seed: int = 0,
) -> GrapeResult:
    """Find piecewise-constant fields steering ``psi0`` to ``target`` (up to a global
    phase) with GRAPE.

    qutip-qtrl's ``optimize_pulse_unitary`` does the work (L-BFGS-B over the slot
    amplitudes, bounds +-u_max). It starts from a sine pulse; when it stalls in a local
    optimum it restarts from random pulses (seeded) up to ``restarts`` times and keeps
    the best. The returned fidelity is recomputed here by :func:`propagate`,
    independently of the optimiser's own figure of merit.
    """
    import qutip_qtrl.pulseoptim as cpo

    best = None
    t0 = time.perf_counter()
    for attempt in range(restarts + 1):
        kwargs = (
            {"init_pulse_type": "SINE", "init_pulse_params": {"num_waves": num_waves}}
            if attempt == 0
            else {
                "init_pulse_type": "RND",
                "pulse_scaling": 0.5 * u_max,
                "init_pulse_params": {},
            }
        )
        if attempt > 0:
            np.random.seed(seed + attempt)  # noqa: NPY002 - qutip-qtrl's random pulses use the global generator
        res = cpo.optimize_pulse_unitary(
            H0,
            list(controls),
            psi0,
            target,
            num_tslots=n_slots,
            evo_time=T,
            amp_lbound=-u_max,
            amp_ubound=u_max,
            fid_err_targ=fid_err_targ,
            max_iter=max_iter,
            max_wall_time=120,
            phase_option="PSU",
            log_level=40,
            gen_stats=False,
            **kwargs,
        )
        amps = np.asarray(res.final_amps, dtype=float)
        final = propagate(H0, controls, amps, T / n_slots, psi0, every=n_slots)[-1]
        candidate = GrapeResult(
            amps,
            T / n_slots,
            fidelity(final, target),
            res.num_iter,
            0.0,
            str(res.termination_reason),
        )
        if best is None or candidate.fidelity > best.fidelity:
            best = candidate
        if best.fidelity >= (1 - fid_err_targ) ** 2 - 1e-9:
            break
    best.seconds = time.perf_counter() - t0
    return best


def sesolve_piecewise(
    H0,
    controls: Sequence,
    amplitudes: np.ndarray,
    dt: float,
    psi0,
    tlist: np.ndarray | None = None,
):
    """Solve the same dynamics with QuTiP's ``sesolve`` (adaptive ODE solver), fields as
    step coefficients.

    An independent check of :func:`propagate`. Returns the ``qutip.Result`` with states
    at ``tlist`` (default: the slot boundaries).
    """
    import qutip

    amplitudes = np.asarray(amplitudes, dtype=float).reshape(len(amplitudes), -1)
    n = len(amplitudes)
    edges = np.arange(n + 1) * dt
    tlist = edges if tlist is None else np.asarray(tlist)
    H = [H0]
    for k, hk in enumerate(controls):
        values = np.append(amplitudes[:, k], amplitudes[-1, k])
        H.append([hk, qutip.coefficient(values, tlist=edges, order=0)])
    options = {"atol": 1e-10, "rtol": 1e-8, "nsteps": 10**7, "max_step": dt / 2}
    return qutip.sesolve(H, psi0, tlist, options=options)
