"""minilib.chem.splits and minilib.chem.sae: random, scaffold and SAE splits, on small
fingerprints made here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minilib.chem.sae import (
    _hard_max_similarity,
    neighbours,
    sae_split,
    soft_histogram,
    soft_max_similarity,
    swap_refine,
)
from minilib.chem.similarity import bin_fractions, tanimoto
from minilib.chem.splits import (
    fit_error,
    random_split,
    scaffold_split,
    scaffolds,
    split_histogram,
    target_distribution,
)


def clustered_bits(
    n_clusters=40, per_cluster=(1, 12), n_bits=512, on=30, flip=8, seed=0
):
    """Fingerprints in clusters of various sizes: members share a prototype and differ
    by a few bits, so similarities are high inside a cluster and low between clusters
    (like analogue series).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_clusters):
        proto = np.zeros(n_bits, dtype=np.uint8)
        proto[rng.choice(n_bits, on, replace=False)] = 1
        for _ in range(rng.integers(per_cluster[0], per_cluster[1] + 1)):
            x = proto.copy()
            x[rng.choice(n_bits, flip, replace=False)] ^= 1
            rows.append(x)
    return np.array(rows)


@pytest.fixture(scope="module")
def bits():
    return clustered_bits()


def test_neighbours_match_brute_force(bits):
    nb = neighbours(bits, m=10, block=37)  # a block size that does not divide N
    s = tanimoto(bits, bits)
    np.fill_diagonal(s, -1)
    order = np.sort(s, axis=1)[:, ::-1]
    np.testing.assert_allclose(nb.sim, order[:, :10], rtol=1e-6)
    np.testing.assert_allclose(nb.tail, np.clip(order[:, 10], 0, None), rtol=1e-6)
    assert (nb.index != np.arange(len(bits))[:, None]).all()  # never itself
    np.testing.assert_allclose(
        np.take_along_axis(s, nb.index, axis=1), nb.sim, rtol=1e-6
    )


def test_soft_max_converges_to_hard_max():
    rng = np.random.default_rng(1)
    sim = torch.tensor(rng.uniform(0, 1, (50, 8)), dtype=torch.float64)
    in_train = torch.tensor(rng.uniform(size=(50, 8)) < 0.6, dtype=torch.float64)
    in_train[:, 0] = 1.0  # every row has a training neighbour
    hard = (sim * in_train).max(dim=1).values
    gaps = []
    for k in (10.0, 100.0, 1000.0, 10000.0):
        soft = soft_max_similarity(sim, in_train, k)
        # stable: exp(k S) alone would overflow at k = 10,000
        assert torch.isfinite(soft).all()
        assert (soft >= hard - 1e-12).all()  # logsumexp is an upper bound of the max
        gaps.append(float((soft - hard).max()))
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3
    # float32 with k = 100 (exp(100) overflows float32): still finite and close
    soft32 = soft_max_similarity(sim.float(), in_train.float(), 100.0)
    assert torch.isfinite(soft32).all() and float((soft32 - hard.float()).max()) < 0.03


def test_soft_max_tail_term_stands_for_the_rest():
    sim = torch.tensor([[0.9, 0.8]])
    all_test = torch.zeros(1, 2)  # both listed neighbours in test
    r = soft_max_similarity(sim, all_test, 1000.0, tail=torch.tensor([0.5]))
    assert float(r) == pytest.approx(0.5, abs=2e-3)


def test_soft_histogram():
    centres, widths = torch.tensor([1 / 6, 0.5, 5 / 6]), torch.full((3,), 0.01)
    values = torch.tensor([0.1, 0.4, 0.6, 0.9, 0.99])
    p = soft_histogram(values, centres, widths)
    assert torch.allclose(p.sum(1), torch.ones(5))
    # narrow bins: the soft histogram is the hard one
    np.testing.assert_allclose(
        p.sum(0).numpy() / 5, bin_fractions(values.numpy()), atol=1e-6
    )
    # wide bins spread the mass but keep it
    wide = soft_histogram(values, centres, torch.full((3,), 0.3))
    assert torch.allclose(wide.sum(1), torch.ones(5)) and (wide > 0.01).all()


def test_hard_max_similarity_with_fallback(bits):
    n = len(bits)
    test_mask = np.zeros(n, dtype=bool)
    test_mask[random_split(n, 0.3, seed=3)[1]] = True
    exact = tanimoto(bits[test_mask], bits[~test_mask]).max(axis=1)
    for m in (2, 5, 50):  # m = 2 forces the full computation for many rows
        got = _hard_max_similarity(bits, neighbours(bits, m=m), test_mask)
        np.testing.assert_allclose(got, exact, rtol=1e-6)


def test_split_histogram_and_fit_error(bits):
    train, test = random_split(len(bits), 0.2, seed=0)
    s = split_histogram(bits, train, test, target=[1 / 3] * 3)
    exact = tanimoto(bits[test], bits[train]).max(axis=1)
    np.testing.assert_allclose(s.max_sim, exact, rtol=1e-6)
    np.testing.assert_allclose(s.fractions, bin_fractions(exact))
    assert s.fit_error == pytest.approx(np.mean(np.abs(s.fractions - 1 / 3)))
    assert fit_error([0.5, 0.25, 0.25], [1 / 3] * 3) == pytest.approx(
        (1 / 6 + 1 / 12 + 1 / 12) / 3
    )
    with pytest.raises(ValueError, match="overlap"):
        split_histogram(bits, [0, 1, 2], [2, 3])


def test_target_distributions():
    np.testing.assert_allclose(target_distribution("balanced"), [1 / 3] * 3)
    edges = np.linspace(0, 1, 11)
    # the paper's EGFR "mimic" counts
    counts = [0, 6, 36, 119, 247, 460, 271, 129, 52, 12]
    np.testing.assert_allclose(
        target_distribution("mimic", edges, reference=counts),
        np.array(counts) / sum(counts),
    )
    r = target_distribution("range", edges, lo=0.4, hi=0.6)
    np.testing.assert_allclose(r, [0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="whole bins"):
        target_distribution("range", edges, lo=0.45, hi=0.6)
    with pytest.raises(ValueError, match="kind"):
        target_distribution("uniform")


def test_random_split():
    train, test = random_split(101, 0.2, seed=4)
    assert len(test) == 20 and len(train) == 81 and not np.intersect1d(train, test).size
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(101))
    assert np.array_equal(random_split(101, 0.2, seed=4)[1], test)
    with pytest.raises(ValueError, match="test_ratio"):
        random_split(10, 1.0)


def test_scaffold_split_keeps_scaffolds_apart():
    smiles = (
        ["c1ccccc1C"] * 5
        + ["c1ccccc1CC"] * 3  # benzene scaffold, 8 molecules
        + ["C1CCNCC1C", "C1CCNCC1O"]  # piperidine, 2
        + ["c1ccc2ccccc2c1", "CCO"]  # naphthalene, acyclic ("")
    )
    scaf = scaffolds(smiles)
    assert scaf[0] == scaf[5] == "c1ccccc1" and scaf[-1] == ""
    train, test = scaffold_split(smiles, 0.2)
    assert len(train) + len(test) == len(smiles)
    assert not {scaf[i] for i in train} & {scaf[i] for i in test}
    assert set(range(8)) <= set(train)  # the largest group goes to train
    with pytest.raises(ValueError, match="do not parse"):
        scaffold_split(["c1ccccc1", "not a smiles"], 0.5)


def test_sae_split_fits_and_keeps_the_test_ratio(bits):
    target = target_distribution("balanced")
    train, test = random_split(len(bits), 0.2, seed=0)
    random_err = split_histogram(bits, train, test, target=target).fit_error
    s = sae_split(bits, target, iterations=300, restarts=2, m=16, seed=0)
    n_test = round(0.2 * len(bits))
    # the constraint holds exactly after the hard projection, and the split is a
    # partition
    assert len(s.test) == n_test and len(s.train) == len(bits) - n_test
    assert np.array_equal(
        np.sort(np.concatenate([s.train, s.test])), np.arange(len(bits))
    )
    # the reported histogram is the exact one of the returned split
    check = split_histogram(bits, s.train, s.test, target=target)
    np.testing.assert_allclose(s.fractions, check.fractions)
    assert s.fit_error == pytest.approx(check.fit_error)
    assert s.fit_error < random_err / 3, (s.fit_error, random_err)
    assert s.info["best_iteration"] <= 300 and s.info["trace"][-1][1] <= 300


def test_sae_split_is_deterministic(bits):
    kw = dict(iterations=100, m=16, seed=5)
    a = sae_split(bits, target_distribution("balanced"), **kw)
    b = sae_split(bits, target_distribution("balanced"), **kw)
    assert np.array_equal(a.test, b.test) and a.fit_error == b.fit_error


def test_sae_split_rejects_bad_targets(bits):
    with pytest.raises(ValueError, match="target"):
        sae_split(bits, [0.5, 0.5])
    with pytest.raises(ValueError, match="target"):
        sae_split(bits, [0.5, 0.5, 0.5])


def test_swap_refine_improves_exactly_and_keeps_the_size(bits):
    target = target_distribution("balanced")
    train, test = random_split(len(bits), 0.2, seed=0)
    start = split_histogram(bits, train, test, target=target, name="random")
    nb = neighbours(bits, m=16)
    refined = swap_refine(bits, start, nb=nb, max_tries=300, seed=0)
    assert len(refined.test) == len(start.test) and refined.name == "random"
    assert not np.intersect1d(refined.train, refined.test).size
    # accepted swaps only ever lower the deviation
    assert refined.fit_error < start.fit_error
    check = split_histogram(bits, refined.train, refined.test, target=target)
    # its bookkeeping matches an exact recount
    assert refined.fit_error == pytest.approx(check.fit_error)
    info = refined.info["refine"]
    assert (
        info["fit_error_before"] == start.fit_error
        and 0 < info["swaps"] <= info["tries"] <= 300
    )
    again = swap_refine(bits, start, nb=nb, max_tries=300, seed=0)
    assert np.array_equal(again.test, refined.test)
    with pytest.raises(ValueError, match="target"):
        swap_refine(bits, split_histogram(bits, train, test))
