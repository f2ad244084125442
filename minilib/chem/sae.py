"""SAE: the similarity aware split of a compound set.

C. Zhang, Z. Hu, C. Jiang, W. Chen, J. Xu, S. Zhang, "Rethinking the generalization of
drug target affinity prediction algorithms via similarity aware evaluation", ICLR 2025,
arXiv:2504.09481.

The test set is chosen by gradient descent so that the histogram of each test
compound's largest Tanimoto similarity to the training set matches a target
distribution (:func:`~minilib.chem.splits.target_distribution`: "balanced", "mimic" or
"range"). From the paper's formulation to the code (the paper's equations are cited by
their content):

==========================================================  ===========================
paper                                                       code
==========================================================  ===========================
test membership ``W_i = sigmoid(logit_i)``                  :func:`sae_descent`
soft max similarity to train                                :func:`soft_max_similarity`
``R_i = (1/k) log sum_j exp(k (1 - W_j) S_ij)``
soft histogram ``p_ik = softmax_k(-(R_i - C_k)^2 /          :func:`soft_histogram`
(2 s_k^2))``, ``O_k = sum_i W_i p_ik``
objective ``sum_k (O_k - E_k)^2 / E_k`` + entropy of W      :func:`sae_descent`
constraint ``sum_i W_i = a N`` (Lagrange multiplier)        :func:`sae_descent`
                                                            (augmented Lagrangian)
hard projection every few steps, best iterate kept          :func:`sae_descent`
several random starts, the best kept                        :func:`sae_split`
==========================================================  ===========================

**Why it is fast here.** The official code evaluates a dense N x N soft maximum every
iteration (about 0.7 s per iteration for N = 4.5k on a 2-core CPU). A compound's soft
maximum to the training set is dominated by its most similar neighbours, so
:func:`sae_split` keeps each compound's ``m`` nearest neighbours (:func:`neighbours`,
computed once in blocks) plus one tail term, the (m+1)-th similarity, that stands for
the rest: an iteration costs O(N m) instead of O(N^2). The soft objective only steers;
every ``project_every`` iterations the ``a N`` largest weights are projected to a hard
test set whose histogram is measured exactly (falling back to a full similarity
computation for any test compound none of whose ``m`` neighbours is in train), and the
best hard iterate is kept. :func:`swap_refine` then swaps single compounds between the
sides while that lowers the exact fit error (our addition, not the paper's).

Used by the SAE chapter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .similarity import (
    SIMILARITY_BINS,
    PackedBits,
    bin_fractions,
    pack_bits,
    tanimoto,
    tanimoto_rows,
)
from .splits import Split, fit_error, n_test_compounds, split_histogram

__all__ = [
    "Neighbours",
    "neighbours",
    "sae_descent",
    "sae_split",
    "soft_histogram",
    "soft_max_similarity",
    "swap_refine",
]


@dataclass(frozen=True)
class Neighbours:
    """The ``m`` most similar other compounds of every compound.

    ``index``: (N, m) int64, most similar first; ``sim``: (N, m) float32 their Tanimoto
    similarities; ``tail``: (N,) float32, the (m+1)-th largest similarity (an upper
    bound on every similarity left out); ``packed``: the fingerprints packed for the
    exact similarities the optimiser still needs (:func:`.similarity.tanimoto_rows`), or
    None.
    """

    index: np.ndarray
    sim: np.ndarray
    tail: np.ndarray
    packed: PackedBits | None = None


def neighbours(bits: np.ndarray, m: int = 256, block: int = 1024) -> Neighbours:
    """The ``m`` nearest neighbours (by Tanimoto, self excluded) of every row of
    ``bits`` (N, n_bits).

    Computed in blocks of ``block`` rows (memory ``block * N`` floats). Ties are broken
    by torch.topk, deterministically on the CPU.
    """
    n = len(bits)
    if n < 2:
        raise ValueError("need at least two compounds")
    m = min(m, n - 2) if n > 2 else 1
    bits = np.asarray(bits)
    index = np.empty((n, m), dtype=np.int64)
    sim = np.empty((n, m), dtype=np.float32)
    tail = np.zeros(n, dtype=np.float32)
    take = min(m + 1, n - 1)
    for start in range(0, n, block):
        rows = bits[start : start + block]
        s = torch.from_numpy(tanimoto(rows, bits))  # (b, N)
        # exclude self
        s[torch.arange(len(rows)), torch.arange(start, start + len(rows))] = -1.0
        values, idx = torch.topk(s, take, dim=1)
        index[start : start + len(rows)] = idx[:, :m].numpy()
        sim[start : start + len(rows)] = values[:, :m].numpy()
        if take > m:
            tail[start : start + len(rows)] = values[:, m].clamp(min=0).numpy()
    return Neighbours(index, sim, tail, pack_bits(bits))


def soft_max_similarity(
    sim: torch.Tensor,
    train_weight: torch.Tensor,
    k: float,
    tail: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft maximum of each row's similarities to the (soft) training set, ``(N,)``.

    ``R_i = (1/k) log( sum_j exp(k (1 - W_j) S_ij) + exp(k tail_i) )``, a differentiable
    stand-in for ``max_j (1 - W_j) S_ij``: ``sim`` (N, m) holds the similarities
    ``S_ij`` of each row's neighbours and ``train_weight`` (N, m) their ``1 - W_j``. A
    neighbour in test (``W_j = 1``) contributes ``exp(0)``, so ``R_i >= log(m + 1) /
    k``. Computed with a stable logsumexp (``exp(k S)`` with k = 100 overflows float32).
    The tail term stands for the neighbours left out, taken as in train. For 0/1
    weights, ``R_i -> max(max_{j in train} S_ij, tail_i)`` as ``k`` grows.

    The gradient reaches a neighbour's weight as ``dR_i / dW_j = -a_ij S_ij`` (``a_ij``
    the softmax weight of term j), without a ``1/k`` factor: a test compound pulls its
    most similar training neighbours towards test as strongly as its own histogram term
    pulls on it.
    """
    terms = k * train_weight * sim
    if tail is not None:
        terms = torch.cat([terms, (k * tail)[:, None]], dim=1)
    return torch.logsumexp(terms, dim=1) / k


def soft_histogram(
    values: torch.Tensor, centres: torch.Tensor, widths: torch.Tensor
) -> torch.Tensor:
    """Soft bin memberships ``p (N, K)``: ``softmax_k(-(v_i - C_k)^2 / (2 s_k^2))``;
    rows sum to 1.
    """
    return torch.softmax(
        -((values[:, None] - centres[None, :]) ** 2) / (2 * widths[None, :] ** 2), dim=1
    )


def _binary_entropy(logits: torch.Tensor) -> torch.Tensor:
    w = torch.sigmoid(logits)
    return -(w * F.logsigmoid(logits) + (1 - w) * F.logsigmoid(-logits))


def _hard_max_similarity(bits, nb: Neighbours, test_mask: np.ndarray) -> np.ndarray:
    """Exact max similarity of every test compound to train: the first train neighbour
    in the sorted list, or a full computation for rows none of whose m neighbours is in
    train.
    """
    test = np.flatnonzero(test_mask)
    is_train = ~test_mask[nb.index[test]]  # (n_test, m)
    has = is_train.any(axis=1)
    out = np.empty(len(test), dtype=np.float32)
    first = is_train.argmax(axis=1)
    out[has] = nb.sim[test[has], first[has]]
    if (~has).any():
        packed = nb.packed if nb.packed is not None else pack_bits(bits)
        rows, train = test[~has], np.flatnonzero(~test_mask)
        out[~has] = tanimoto_rows(packed, rows, train).max(axis=1)
    return out


def sae_descent(
    bits: np.ndarray,
    nb: Neighbours,
    e: np.ndarray,
    edges: tuple[float, ...],
    n_test: int,
    test_ratio: float,
    *,
    iterations: int,
    lr: float,
    k: float,
    sigma: float,
    entropy_weight: float,
    penalty: float,
    project_every: int,
    seed: int,
    tol: float,
    deadline: float | None,
    t0: float,
    bar,
) -> tuple[float, int, float, np.ndarray, np.ndarray, list[tuple[int, float, float]]]:
    """One start of the SAE optimiser: the descent from one random split (the
    arguments are those of :func:`sae_split`, which runs the starts in turn; ``e`` the
    target fractions, ``deadline`` a ``time.perf_counter()`` value or None, ``bar`` a
    progress bar or None).

    Returns (fit error, best iteration, seconds to the best since ``t0``, test mask,
    test max similarities, trace of (iteration, seconds, fit error)).
    """
    n = len(bits)
    gen = torch.Generator().manual_seed(seed)
    logits = torch.full((n,), -5.0)
    # a random split, confidently
    logits[torch.randperm(n, generator=gen)[:n_test]] = 5.0
    logits.requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iterations)
    index, sim, tail = (
        torch.as_tensor(nb.index),
        torch.as_tensor(nb.sim),
        torch.as_tensor(nb.tail),
    )
    edge_t = torch.tensor(edges, dtype=torch.float32)
    centres = (edge_t[:-1] + edge_t[1:]) / 2
    widths = sigma * (edge_t[1:] - edge_t[:-1])
    e_t = torch.as_tensor(e, dtype=torch.float32)
    used = e_t > 0
    mu = 0.0  # Lagrange multiplier of the test-ratio constraint
    best = None
    trace: list[tuple[int, float, float]] = []
    for it in range(1, iterations + 1):
        opt.zero_grad(set_to_none=True)
        W = torch.sigmoid(logits)  # (N,) test membership
        # (N,) soft max similarity to train
        R = soft_max_similarity(sim, (1 - W)[index], k, tail)
        # (K,) soft test histogram
        O = (W[:, None] * soft_histogram(R, centres, widths)).sum(0) / n_test
        fit = ((O[used] - e_t[used]) ** 2 / e_t[used]).sum()
        g = W.sum() / n - test_ratio  # constraint: g = 0
        loss = (
            fit
            + entropy_weight * _binary_entropy(logits).mean()
            + mu * g
            + 0.5 * penalty * g**2
        )
        loss.backward()
        opt.step()
        sched.step()
        mu += penalty * float(g.detach())  # dual ascent
        if bar is not None:
            bar.update(1)
        if it % project_every == 0 or it == iterations:
            mask = np.zeros(n, dtype=bool)
            # hard projection
            mask[torch.topk(logits.detach(), n_test).indices.numpy()] = True
            ms = _hard_max_similarity(bits, nb, mask)
            err = fit_error(bin_fractions(ms, edges), e)
            now = time.perf_counter() - t0
            trace.append((it, now, err))
            if best is None or err < best[0]:
                best = (err, it, now, mask, ms)
            if err <= tol or (deadline is not None and time.perf_counter() > deadline):
                break
    assert best is not None
    return (*best, trace)


def sae_split(
    bits: np.ndarray,
    target: Sequence[float],
    *,
    test_ratio: float = 0.2,
    edges: Sequence[float] = SIMILARITY_BINS,
    iterations: int = 800,
    restarts: int = 1,
    lr: float = 0.1,
    k: float = 100.0,
    sigma: float = 0.3,
    entropy_weight: float = 0.01,
    penalty: float = 10.0,
    project_every: int = 10,
    m: int = 64,
    seed: int = 0,
    tol: float = 0.0,
    neighbours_: Neighbours | None = None,
    time_limit: float | None = None,
    progress: bool = False,
) -> Split:
    """Similarity aware split: choose ``round(test_ratio * N)`` test compounds whose
    max-similarity-to-train histogram over ``edges`` matches ``target`` (fractions per
    bin, e.g. from :func:`target_distribution`).

    ``bits``: (N, n_bits) 0/1 fingerprints. Variables: one logit per compound, ``W_i =
    sigmoid(logit_i)`` its test membership, started from a random split with logits +-5.
    Each iteration (Adam on the logits, cosine decay of the learning rate ``lr``):

    - ``R_i``: :func:`soft_max_similarity` over the ``m`` nearest neighbours weighted by
      ``1 - W_j``, plus a tail term (see the module docstring), ``k`` the sharpness;
    - ``O_k = sum_i W_i p_ik / n_test``, the soft test histogram, with
      :func:`soft_histogram` (centres the bin centres, widths ``sigma`` times the bin
      widths);
    - loss ``sum_{k: E_k > 0} (O_k - E_k)^2 / E_k + entropy_weight * mean_i H(W_i)``
      (the binary entropy pushes every weight to 0 or 1) ``+ mu * g + penalty / 2 *
      g^2`` with ``g = sum_i W_i / N - test_ratio``, the test-ratio constraint; the
      Lagrange multiplier ``mu`` rises by ``penalty * g`` after every step (augmented
      Lagrangian, dual ascent).

    Every ``project_every`` iterations the ``n_test`` largest logits become the test set
    (so the test ratio holds exactly), its exact histogram is measured and the best
    iterate (smallest :func:`fit_error`) is kept. The result of one start depends
    strongly on the random initial split, so ``restarts`` starts (seeds ``seed, seed +
    1, ...``) run in turn and the best is returned; the search stops as soon as a fit
    error ``<= tol`` is reached or after ``time_limit`` seconds (the neighbour lists
    included).

    ``info``: ``seconds`` (total), ``seconds_neighbours``, ``seconds_to_best``,
    ``iterations`` (all starts), ``best_start``, ``best_iteration``,
    ``seconds_per_iteration`` (with the projections), ``m`` and ``trace`` (start,
    iteration, seconds, fit error at every projection). Deterministic on the CPU.
    """
    t0 = time.perf_counter()
    bits = np.asarray(bits)
    n = len(bits)
    n_test = n_test_compounds(n, test_ratio)
    e = np.asarray(target, dtype=np.float64)
    edges = tuple(float(x) for x in edges)
    if (
        e.shape != (len(edges) - 1,)
        or np.any(e < 0)
        or not math.isclose(e.sum(), 1.0, abs_tol=1e-6)
    ):
        raise ValueError(
            f"target must be {len(edges) - 1} non-negative fractions summing to 1, got "
            f"{list(e)}"
        )
    if iterations < 1 or project_every < 1 or restarts < 1:
        raise ValueError("iterations, project_every and restarts must be >= 1")
    nb = neighbours_ if neighbours_ is not None else neighbours(bits, m)
    if nb.index.shape[0] != n:
        raise ValueError(
            f"neighbours are for {nb.index.shape[0]} compounds, bits for {n}"
        )
    t_nb = time.perf_counter() - t0
    deadline = None if time_limit is None else t0 + time_limit
    threads = torch.get_num_threads()
    # the iteration is many small operations: one thread is fastest (restored below)
    torch.set_num_threads(1)
    try:
        return _sae_restarts(
            bits,
            nb,
            e,
            edges,
            n_test,
            test_ratio,
            t0,
            t_nb,
            deadline,
            restarts,
            progress,
            iterations=iterations,
            lr=lr,
            k=k,
            sigma=sigma,
            entropy_weight=entropy_weight,
            penalty=penalty,
            project_every=project_every,
            seed=seed,
            tol=tol,
        )
    finally:
        torch.set_num_threads(threads)


def _sae_restarts(
    bits,
    nb,
    e,
    edges,
    n_test,
    test_ratio,
    t0,
    t_nb,
    deadline,
    restarts,
    progress,
    *,
    seed,
    tol,
    iterations,
    **kw,
) -> Split:
    """The starts of :func:`sae_split`, best kept."""
    bar = None
    if progress:
        from ..runtime import progress as progress_bar

        bar = progress_bar(total=iterations * restarts, desc="SAE split")
    best = None
    trace: list[tuple[int, int, float, float]] = []
    n_iterations = 0
    t_loop = time.perf_counter()
    for start in range(restarts):
        err, it, t_best, mask, ms, tr = sae_descent(
            bits,
            nb,
            e,
            edges,
            n_test,
            test_ratio,
            iterations=iterations,
            seed=seed + start,
            tol=tol,
            deadline=deadline,
            t0=t0,
            bar=bar,
            **kw,
        )
        trace += [(start, *row) for row in tr]
        n_iterations += tr[-1][0]
        if best is None or err < best[0]:
            best = (err, start, it, t_best, mask, ms)
        if err <= tol or (deadline is not None and time.perf_counter() > deadline):
            break
    if bar is not None:
        bar.close()
    assert best is not None
    err, start, it, t_best, mask, ms = best
    info = {
        "seconds": time.perf_counter() - t0,
        "seconds_neighbours": t_nb,
        "seconds_to_best": t_best,
        "iterations": n_iterations,
        "best_start": start,
        "best_iteration": it,
        "seconds_per_iteration": (time.perf_counter() - t_loop) / n_iterations,
        "m": nb.index.shape[1],
        "trace": trace,
    }
    return Split(
        "sae",
        np.flatnonzero(~mask),
        np.flatnonzero(mask),
        ms,
        edges,
        bin_fractions(ms, edges),
        e,
        err,
        info,
    )


# --------------------------------------------------------------------------------------
# Exact refinement by swaps
# --------------------------------------------------------------------------------------


def _nearest_train(
    packed: PackedBits, rows: np.ndarray, train_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (max similarity, index of the most similar) training compound for each of
    ``rows``.
    """
    s = tanimoto_rows(packed, rows, train_idx)  # (len(rows), n_train)
    j = s.argmax(axis=1)
    return s[np.arange(len(rows)), j], train_idx[j]


def _bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def swap_refine(
    bits: np.ndarray,
    split: Split,
    *,
    nb: Neighbours | None = None,
    max_tries: int = 2000,
    time_limit: float | None = None,
    seed: int = 0,
) -> Split:
    """Improve a split's fit to its target by exact swaps that keep the test size.

    Each try swaps a test compound from an over-full bin with a training compound:
    either one whose max similarity to the rest of train (read from the neighbour lists
    ``nb``) would put it in an under-full bin, or the nearest training compound of a
    test compound in an over-full bin, which then may drop to a lower bin (the only way
    to fill the lowest bin, as in SAE's gradient step). The swap's full effect is
    computed exactly (the compounds whose nearest training neighbour changes, and the
    rise of every test compound's maximum through the compound that joins train) and it
    is kept only if the total deviation ``sum_k |count_k - n_test E_k|`` falls. Stops
    when no bin is off by a whole compound, after ``max_tries`` tries or after
    ``time_limit`` seconds. Returns a new :class:`Split` (name kept) whose
    ``info["refine"]`` records ``tries``, ``swaps``, ``fit_error_before`` and
    ``seconds``; deterministic for a given ``seed``.
    """
    if split.target is None:
        raise ValueError("the split has no target to refine towards")
    t0 = time.perf_counter()
    bits = np.asarray(bits)
    n = len(bits)
    nb = nb if nb is not None else neighbours(bits, 64)
    packed = nb.packed if nb.packed is not None else pack_bits(bits)
    edges = np.asarray(split.edges, dtype=np.float64)
    mask = np.zeros(n, dtype=bool)
    mask[split.test] = True
    n_test = int(mask.sum())
    goal = n_test * np.asarray(split.target, dtype=np.float64)
    ms = np.zeros(n, dtype=np.float64)
    arg = np.full(n, -1, dtype=np.int64)
    test = np.flatnonzero(mask)
    ms[test], arg[test] = _nearest_train(packed, test, np.flatnonzero(~mask))
    counts = np.bincount(_bins(ms[test], edges), minlength=len(goal)).astype(np.float64)
    rng = np.random.default_rng(seed)
    tries = swaps = 0
    while tries < max_tries and np.abs(counts - goal).max() >= 1.0:
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        tries += 1
        over, under = (
            np.flatnonzero(counts > goal + 0.5),
            np.flatnonzero(counts < goal - 0.5),
        )
        if not len(over) or not len(under):
            break
        test = np.flatnonzero(mask)
        out_pool = test[np.isin(_bins(ms[test], edges), over)]
        # a training compound's max similarity to the rest of train, from its neighbour
        # list
        train = np.flatnonzero(~mask)
        listed_train = ~mask[nb.index[train]]
        has = listed_train.any(axis=1)
        approx = np.where(
            has, nb.sim[train, listed_train.argmax(axis=1)], nb.tail[train]
        )
        in_pool = train[np.isin(_bins(approx, edges), under)]
        if not len(out_pool):
            break
        t = int(rng.choice(out_pool))
        if len(in_pool) and rng.random() < 0.5:
            r = int(rng.choice(in_pool))  # lands in an under-full bin itself
        # or: the nearest training compound of an over-full test compound, which may
        else:
            # then drop a bin
            r = int(arg[rng.choice(out_pool)])
            if r == t or mask[r]:
                continue
        new_mask = mask.copy()
        new_mask[t], new_mask[r] = False, True
        new_train = np.flatnonzero(~new_mask)
        stay = np.flatnonzero(new_mask & mask)  # test before and after
        new_ms, new_arg = ms.copy(), arg.copy()
        # t joins train: maxima can only rise
        s_t = tanimoto_rows(packed, stay, [t])[:, 0]
        rise = s_t > new_ms[stay]
        new_ms[stay[rise]], new_arg[stay[rise]] = s_t[rise], t
        # their nearest training compound r left: recompute exactly
        lost = stay[new_arg[stay] == r]
        recompute = np.concatenate([lost, [r]])
        new_ms[recompute], new_arg[recompute] = _nearest_train(
            packed, recompute, new_train
        )
        new_test = np.flatnonzero(new_mask)
        new_counts = np.bincount(
            _bins(new_ms[new_test], edges), minlength=len(goal)
        ).astype(np.float64)
        if np.abs(new_counts - goal).sum() < np.abs(counts - goal).sum() - 1e-9:
            mask, ms, arg, counts = new_mask, new_ms, new_arg, new_counts
            swaps += 1
    test, train = np.flatnonzero(mask), np.flatnonzero(~mask)
    info = dict(split.info)
    info["refine"] = {
        "tries": tries,
        "swaps": swaps,
        "fit_error_before": split.fit_error,
        "seconds": time.perf_counter() - t0,
    }
    return split_histogram(
        bits, train, test, split.edges, split.target, name=split.name, info=info
    )
