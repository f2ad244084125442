"""The recommendation models (layers, baselines, PEPNet) and the multi-task training
helpers, on synthetic batches that follow minilib.recsys.spec.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from minilib.recsys.baselines import DIN, MMoE, SharedBottom, TargetAttention
from minilib.recsys.batches import TensorBatches
from minilib.recsys.layers import FeatureEmbedding
from minilib.recsys.multitask import (
    evaluate,
    mean_cell_auc,
    multitask_loss,
    predict,
    throughput,
    train_multitask,
)
from minilib.recsys.pepnet import EPNet, GateNU, PEPNet, PPNet, gate_values
from minilib.recsys.spec import BATCH_KEYS
from minilib.recsys.testing import synthetic_batch, synthetic_spec

ALL_MODELS = (SharedBottom, MMoE, DIN, EPNet, PPNet, PEPNet)
GATED = (EPNet, PPNet, PEPNet)
D = 4
TOWER = (16, 8)


def make_synthetic(n: int = 256, seed: int = 0, **spec_kwargs):
    """(spec, batch) of ``n`` synthetic impressions; ``spec_kwargs`` go to
    :func:`synthetic_spec`.
    """
    spec = synthetic_spec(**spec_kwargs)
    return spec, synthetic_batch(spec, n, seed)


def build(cls, spec, seed: int = 0):
    torch.manual_seed(seed)
    if cls is SharedBottom:
        return cls(spec, D, bottom=(32,), tower=TOWER)
    if cls is DIN:
        return cls(spec, D, bottom=(32,), tower=TOWER, attention_hidden=(8,))
    if cls is MMoE:
        return cls(spec, D, n_experts=3, expert=(32,), tower=TOWER)
    return cls(spec, D, tower=TOWER, gate_hidden=16)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(256, seed=0)


# --------------------------------------------------------------------------------------
# Synthetic data and embedding
# --------------------------------------------------------------------------------------


def test_synthetic_batch_follows_the_contract(data):
    spec, batch = data
    assert set(batch) == set(BATCH_KEYS)
    n = 256
    assert (
        batch["sparse"].shape == (n, len(spec.sparse))
        and batch["sparse"].dtype == torch.int64
    )
    assert (
        batch["dense"].shape == (n, len(spec.dense))
        and batch["dense"].dtype == torch.float32
    )
    assert (
        batch["history"].shape == (n, spec.history_len)
        and batch["history"].dtype == torch.int64
    )
    assert batch["labels"].shape == batch["label_mask"].shape == (n, len(spec.tasks))
    for j, f in enumerate(spec.sparse):
        assert (
            0 <= batch["sparse"][:, j].min()
            and batch["sparse"][:, j].max() < spec.vocab_sizes[f]
        )
    # right-aligned history: once a row has started, no padding follows
    started = (batch["history"] != 0).int().cummax(dim=1).values.bool()
    assert (batch["history"][started] != 0).all()
    assert torch.equal(batch["sparse"][:, spec.index("domain")], batch["domain"] + 1)


def test_feature_embedding_slots_history_and_fields(data):
    spec, batch = data
    torch.manual_seed(0)
    emb = FeatureEmbedding(spec, D)
    E = emb(batch)
    assert emb.slot_names == (*spec.sparse, "history", *spec.dense)
    assert E.shape == (256, len(spec.sparse) + 1 + len(spec.dense), D)
    # the history shares the video table and averages the non-padding rows only
    table = emb.tables[spec.index(spec.history_field)].weight
    hist = batch["history"]
    for i in range(8):
        items = hist[i][hist[i] != 0]
        expected = table[items].mean(0) if len(items) else torch.zeros(D)
        torch.testing.assert_close(E[i, emb.slot_index(["history"])[0]], expected)
    assert (
        sum(p.numel() for p in emb.parameters())
        == sum(spec.vocab_sizes.values()) * D + 2 * len(spec.dense) * D
    )
    # OOV index 0 is a trainable row, not a zero vector
    assert table[0].abs().sum() > 0
    names = list(spec.prior_fields)
    torch.testing.assert_close(emb.fields(batch, names), E[:, emb.slot_index(names)])
    with pytest.raises(KeyError):
        emb.fields(batch, ["history"])


def test_feature_embedding_without_dense_or_history():
    spec, batch = make_synthetic(32, n_dense=0, history_len=0, n_other_sparse=0)
    E = FeatureEmbedding(spec, D)(batch)
    assert E.shape == (32, len(spec.sparse) + 1, D)
    assert torch.count_nonzero(E[:, -1]) == 0  # empty history pools to zero


# --------------------------------------------------------------------------------------
# GateNU
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [2.0, 0.5])
def test_gatenu_range_shape_and_gamma(gamma):
    torch.manual_seed(0)
    gate = GateNU(6, 5, hidden=7, gamma=gamma)
    x = torch.cat(
        [
            torch.full((3, 6), 1e4),
            torch.full((3, 6), -1e4),
            1e4 * torch.randn(10, 6),
            torch.zeros(1, 6),
        ]
    )
    out = gate(x)
    assert out.shape == (17, 5)
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= gamma
    # saturates at the extremes
    assert (out == 0).any() or (out == gamma).any() or out.max() > 0.9 * gamma
    with pytest.raises(ValueError):
        GateNU(2, 2, gamma=0.0)


# --------------------------------------------------------------------------------------
# Stop-gradients
# --------------------------------------------------------------------------------------


def _assert_only_these_tables_learn(model, spec, fields):
    """After a backward pass: the embedding tables of ``fields`` got gradient, every
    other table none.
    """
    for f, table in zip(spec.sparse, model.embedding.tables, strict=True):
        grad = table.weight.grad
        if f in fields:
            assert grad is not None and grad.abs().sum() > 0, f
        else:
            assert grad is None or torch.count_nonzero(grad) == 0, f


@pytest.mark.parametrize("cls", [EPNet, PEPNet])
def test_ep_gate_gradient_flows_only_through_the_domain_side_input(cls, data):
    spec, batch = data
    model = build(cls, spec)
    # 1) on the gate itself: E enters only through stop_grad, E_domain is a live input
    E = torch.randn(8, model.n_slots, D, requires_grad=True)
    E_domain = torch.randn(8, len(spec.domain_side_fields), D, requires_grad=True)
    g_E, g_dom = torch.autograd.grad(
        model.ep_gate(E, E_domain).sum(), [E, E_domain], allow_unused=True
    )
    assert g_E is None
    assert g_dom is not None and g_dom.abs().sum() > 0
    # 2) in the whole model: the gate output trains only the tables of the domain-side
    # fields
    _, gates = model(batch, return_gates=True)
    gates["ep"].sum().backward()
    _assert_only_these_tables_learn(model, spec, spec.domain_side_fields)
    assert (
        model.embedding.dense_weight.grad is None
        or torch.count_nonzero(model.embedding.dense_weight.grad) == 0
    )


def test_pp_gate_does_not_train_epnet_through_o_ep(data):
    spec, batch = data
    model = build(PEPNet, spec)
    # 1) on the gate itself: O enters only through stop_grad
    E_prior = torch.randn(8, len(spec.prior_fields), D, requires_grad=True)
    O = torch.randn(8, model.n_slots, D, requires_grad=True)
    g_prior, g_O = torch.autograd.grad(
        model.pp_gate(E_prior, O).sum(), [E_prior, O], allow_unused=True
    )
    assert g_O is None and g_prior.abs().sum() > 0
    # 2) in the whole model: no gradient reaches EPNet's gate, only the prior tables
    # learn from the PP gate
    _, gates = model(batch, return_gates=True)
    gates["pp"].sum().backward()
    assert all(p.grad is None for p in model.ep_gate_nu.parameters())
    _assert_only_these_tables_learn(model, spec, spec.prior_fields)
    # 3) the loss itself does train EPNet's gate (through O_ep = delta_domain * E into
    # the towers)
    model.zero_grad()
    model(batch).sum().backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0
        for p in model.ep_gate_nu.parameters()
    )


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS)
def test_forward_shapes_and_gates(cls, data):
    spec, batch = data
    model = build(cls, spec)
    logits = model(batch)
    assert logits.shape == (256, len(spec.tasks)) and torch.isfinite(logits).all()
    logits2, gates = model(batch, return_gates=True)
    torch.testing.assert_close(logits, logits2)
    n_slots = len(spec.sparse) + 1 + len(spec.dense)
    expected = set()
    if cls in (EPNet, PEPNet):
        expected.add("ep")
        assert gates["ep"].shape == (256, n_slots)
    if cls in (PPNet, PEPNet):
        expected.add("pp")
        assert gates["pp"].shape == (
            256,
            len(spec.tasks),
            n_slots * D + sum(TOWER[:-1]),
        )
    if cls is DIN:
        expected.add("attention")
        assert gates["attention"].shape == (256, spec.history_len)
        assert (gates["attention"][batch["history"] == 0] == 0).all()
    if cls is MMoE:
        expected.add("mmoe")
        torch.testing.assert_close(
            gates["mmoe"].sum(-1), torch.ones(256, len(spec.tasks))
        )
    assert set(gates) == expected
    for key in ("ep", "pp"):
        if key in gates:
            assert gates[key].min() >= 0 and gates[key].max() <= 2


@pytest.mark.parametrize("cls", ALL_MODELS)
def test_training_learns_the_synthetic_task(cls):
    spec, train = make_synthetic(2048, seed=1)
    val = synthetic_batch(spec, 1024, seed=2)
    model = build(cls, spec)
    before = mean_cell_auc(predict(model, val), val)
    history = train_multitask(
        model, TensorBatches(train, 128, seed=0), val, epochs=3, lr=3e-3, progress=False
    )
    losses = history["train_loss"]
    assert len(history) == 3 and losses[-1] < losses[0]
    assert history.best_score == max(history["val_auc"])
    assert history.best_score > max(before, 0.6)
    # the best epoch's weights are restored
    assert mean_cell_auc(predict(model, val), val) == pytest.approx(history.best_score)


def test_early_stopping_on_validation_loss():
    spec, train = make_synthetic(1024, seed=1)
    val = synthetic_batch(spec, 512, seed=2)
    model = build(SharedBottom, spec)
    history = train_multitask(
        model,
        TensorBatches(train, 128, seed=0),
        val,
        epochs=3,
        lr=3e-3,
        progress=False,
        monitor="val_loss",
    )
    assert history.monitor == "val_loss" and history.best_score == min(
        history["val_loss"]
    )
    assert len(history["val_auc"]) == len(history)  # both are recorded
    with pytest.raises(ValueError, match="monitor"):
        train_multitask(
            model,
            TensorBatches(train, 128),
            val,
            epochs=1,
            progress=False,
            monitor="auc",
        )


def test_same_seed_gives_identical_logits_and_trained_weights():
    spec, train = make_synthetic(512, seed=3)
    val = synthetic_batch(spec, 256, seed=4)
    runs = []
    for _ in range(2):
        model = build(PEPNet, spec, seed=7)
        logits = model(val).detach()
        train_multitask(
            model, TensorBatches(train, 64, seed=5), val, epochs=1, progress=False
        )
        runs.append((logits, model.state_dict()))
    torch.testing.assert_close(runs[0][0], runs[1][0], rtol=0, atol=0)
    assert runs[0][1].keys() == runs[1][1].keys()
    for k in runs[0][1]:
        assert torch.equal(runs[0][1][k], runs[1][1][k]), k
    other = build(PEPNet, spec, seed=8)
    assert not torch.equal(other(val), runs[0][0])


# --------------------------------------------------------------------------------------
# Loss, prediction, evaluation, gates
# --------------------------------------------------------------------------------------


def test_multitask_loss_ignores_a_fully_masked_task():
    torch.manual_seed(0)
    logits = torch.randn(16, 3, requires_grad=True)
    labels = (torch.rand(16, 3) < 0.5).float()
    labels[:, 1] = float("nan")  # never observed: even NaN labels must not leak
    mask = torch.ones(16, 3)
    mask[:, 1] = 0
    mask[:4, 2] = 0
    loss = multitask_loss(logits, labels, mask)
    assert torch.isfinite(loss)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(logits[:, 0], labels[:, 0]) + bce(logits[4:, 2], labels[4:, 2])
    torch.testing.assert_close(loss, expected)
    (grad,) = torch.autograd.grad(loss, logits)
    assert (
        torch.isfinite(grad).all()
        and torch.count_nonzero(grad[:, 1]) == 0
        and torch.count_nonzero(grad[:4, 2]) == 0
    )
    weighted = multitask_loss(logits, labels, mask, task_weights=[2.0, 5.0, 0.0])
    torch.testing.assert_close(weighted, 2 * bce(logits[:, 0], labels[:, 0]))
    assert multitask_loss(logits, labels, torch.zeros(16, 3)).item() == 0.0


def test_predict_matches_sigmoid_of_the_logits(data):
    spec, batch = data
    model = build(PEPNet, spec)
    probs = predict(model, batch, batch_size=100)  # several slices
    assert probs.shape == (256, len(spec.tasks)) and not model.training
    with torch.no_grad():
        expected = torch.sigmoid(model(batch)).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-6, atol=1e-7)


def test_evaluate_rows_columns_and_undefined_cells(data):
    spec, batch = data
    model = build(EPNet, spec)
    df = evaluate(model, batch, spec)
    assert list(df.columns) == ["task", "domain", "n", "positives", "auc", "gauc"]
    assert len(df) == len(spec.tasks) * (len(spec.domains) + 1)
    assert list(df["domain"].unique()) == [*spec.domains, "all"]
    mask = batch["label_mask"].numpy() > 0
    for t, task in enumerate(spec.tasks):
        rows = df[df.task == task].set_index("domain")
        assert (
            rows.loc["all", "n"]
            == mask[:, t].sum()
            == rows.loc[list(spec.domains), "n"].sum()
        )
        assert (
            rows.loc["all", "positives"] == batch["labels"].numpy()[mask[:, t], t].sum()
        )
    assert df["auc"].between(0, 1).all()
    # a batch where one domain is missing and a task has one class: NaN, no crash
    sub = {k: v[batch["domain"] != 0] for k, v in batch.items()}
    sub["labels"][:, 1] = 0.0
    df = evaluate(model, sub, spec).set_index(["task", "domain"])
    assert df.loc[(spec.tasks[0], spec.domains[0]), "n"] == 0
    assert math.isnan(df.loc[(spec.tasks[0], spec.domains[0]), "auc"])
    assert (
        df.loc[spec.tasks[1], "auc"].isna().all()
        and df.loc[spec.tasks[1], "gauc"].isna().all()
    )
    assert df.loc[(spec.tasks[0], "all"), "auc"] > 0


@pytest.mark.parametrize("cls", GATED)
def test_gate_values_long_format(cls, data):
    spec, batch = data
    model = build(cls, spec)
    df = gate_values(model, batch, spec, max_samples=50)
    assert list(df.columns) == [
        "gate",
        "task",
        "layer",
        "slot",
        "unit",
        "domain",
        "row",
        "value",
    ]
    assert df["row"].nunique() == 50 and set(df["domain"]) <= set(spec.domains)
    n_slots = model.n_slots
    if cls is not PPNet:
        ep = df[df.gate == "ep"]
        assert len(ep) == 50 * n_slots and ep["task"].isna().all()
        assert list(ep["slot"].iloc[:n_slots]) == list(model.embedding.slot_names)
        # the values are those of the forward pass
        _, gates = model(batch, return_gates=True)
        first = int(ep["row"].iloc[0])
        np.testing.assert_allclose(
            ep["value"].iloc[:n_slots], gates["ep"][first].detach().numpy(), rtol=1e-6
        )
    if cls is not EPNet:
        pp = df[df.gate == "pp"]
        assert len(pp) == 50 * len(spec.tasks) * (n_slots * D + sum(TOWER[:-1]))
        assert set(pp["layer"]) == {"input", "hidden1"}
        assert pp.loc[pp.layer == "hidden1", "slot"].isna().all()
        assert set(pp.loc[pp.layer == "input", "slot"]) == set(
            model.embedding.slot_names
        )
    assert df["value"].between(0, 2).all()
    # domains survive the plotting-friendly grouping
    assert isinstance(
        df.groupby(["gate", "domain"], observed=True)["value"].mean(), pd.Series
    )


@pytest.mark.parametrize("cls", [SharedBottom, MMoE])
def test_gate_values_raises_without_pepnet_gates(cls, data):
    spec, batch = data
    with pytest.raises(TypeError, match="no PEPNet gates"):
        gate_values(build(cls, spec), batch, spec)


def test_tensor_batches_and_throughput_smoke(data):
    spec, batch = data
    loader = TensorBatches(batch, 100, seed=1)
    sizes = [len(b["labels"]) for b in loader]
    assert len(loader) == 3 and sizes == [100, 100, 56]
    rows = torch.cat([b["user"] for b in loader])
    assert sorted(rows.tolist()) == sorted(batch["user"].tolist())
    model = build(SharedBottom, spec)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rate = throughput(model, batch, batch_size=64, steps=2, warmup=1)
    assert rate > 0 and math.isfinite(rate)
    # the model is untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_target_attention_pools_real_items_by_their_weights():
    torch.manual_seed(0)
    att = TargetAttention(3, hidden=(5,))
    items = torch.randn(2, 4, 3)
    target = torch.randn(2, 3)
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    pooled, weights = att(items, target, mask)
    assert pooled.shape == (2, 3) and weights.shape == (2, 4)
    assert (weights[0, 2:] == 0).all()  # padding has no weight
    v = target.unsqueeze(1).expand_as(items)
    raw = att.mlp(torch.cat([items, v, items - v, items * v], -1)).squeeze(-1)
    torch.testing.assert_close(weights, raw * mask)  # no softmax, as in DIN
    torch.testing.assert_close(pooled, (weights.unsqueeze(-1) * items).sum(1))
    with pytest.raises(ValueError, match="hidden"):
        TargetAttention(3, hidden=())


def test_history_items_agree_with_the_mean_pooled_slot(data):
    spec, batch = data
    emb = FeatureEmbedding(spec, D)
    items, mask = emb.history_items(batch)
    assert items.shape == (256, spec.history_len, D)
    mean = (items * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    torch.testing.assert_close(emb.history(batch), mean)
