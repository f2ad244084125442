"""Training, prediction and evaluation of the multi-task models of
:mod:`minilib.recsys.models`.

A typical run of the PEPNet chapter::

    model = PEPNet(spec, d=8)
    history = train_multitask(model, TensorBatches(train, 1024), val, epochs=10)
    evaluate(model, test, spec)          # AUC / GAUC per task and domain
    gate_values(model, test, spec)       # long format, for distribution plots

Training goes through the book's one loop, :func:`minilib.train.fit`. Batches follow the
contract of :mod:`minilib.recsys.spec`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from minilib.metrics import auc, gauc
from minilib.recsys.spec import FeatureSpec
from minilib.train import History, fit, to_device

__all__ = [
    "TensorBatches",
    "evaluate",
    "gate_values",
    "mean_cell_auc",
    "multitask_loss",
    "predict",
    "throughput",
    "train_multitask",
]

Batch = Mapping[str, torch.Tensor]


def _n_rows(batch: Batch) -> int:
    return int(batch["labels"].shape[0])


def _rows(batch: Batch, index: slice | torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[index] for k, v in batch.items()}


class TensorBatches:
    """Mini-batches of a batch dict held in memory, as an iterable with ``len`` (what
    :func:`fit` wants).

    Each epoch yields ``ceil(n / batch_size)`` dicts with the same keys; with
    ``shuffle`` the rows are permuted anew every epoch by a generator seeded with
    ``seed`` (epoch ``e`` uses ``seed + e``), so runs are reproducible. ``drop_last``
    drops a final short batch.

    Used by the PEPNet chapter.
    """

    def __init__(
        self,
        batch: Batch,
        batch_size: int = 1024,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch = dict(batch)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.n = _n_rows(batch)
        self._epoch = 0

    def __len__(self) -> int:
        return (
            self.n // self.batch_size
            if self.drop_last
            else math.ceil(self.n / self.batch_size)
        )

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self._epoch)
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.arange(self.n)
        self._epoch += 1
        for i in range(len(self)):
            yield _rows(
                self.batch, order[i * self.batch_size : (i + 1) * self.batch_size]
            )


def multitask_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    label_mask: torch.Tensor,
    task_weights: Sequence[float] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-task binary cross-entropy: ``sum_t w_t * mean_{i: mask[i,t]=1}
    BCE(logits[i,t], labels[i,t])``.

    ``logits``, ``labels``, ``label_mask``: (B, n_tasks). Unobserved entries (mask 0)
    are ignored, whatever their label (even NaN); a task without any observed label in
    the batch contributes 0. ``task_weights`` (n_tasks,) defaults to all ones. Returns a
    scalar tensor.

    Used by the PEPNet chapter.
    """
    if logits.shape != labels.shape or labels.shape != label_mask.shape:
        raise ValueError(
            "logits, labels and label_mask must have one shape, got "
            f"{tuple(logits.shape)}, "
            f"{tuple(labels.shape)} and {tuple(label_mask.shape)}"
        )
    observed = label_mask > 0
    y = torch.where(observed, labels.to(logits.dtype), torch.zeros_like(logits))
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    bce = torch.where(observed, bce, torch.zeros_like(bce))
    # (n_tasks,), 0 where nothing observed
    per_task = bce.sum(dim=0) / observed.sum(dim=0).clamp(min=1)
    if task_weights is not None:
        w = torch.as_tensor(task_weights, dtype=per_task.dtype, device=per_task.device)
        if w.shape != per_task.shape:
            raise ValueError(
                f"task_weights must have {per_task.numel()} values, got shape "
                f"{tuple(w.shape)}"
            )
        per_task = per_task * w
    return per_task.sum()


@torch.no_grad()
def predict(model: torch.nn.Module, batch: Batch, batch_size: int = 8192) -> np.ndarray:
    """Probabilities ``sigmoid(model(batch))`` as a numpy array (n, n_tasks), computed
    in eval mode on the model's device in slices of ``batch_size`` rows.

    Used by the PEPNet chapter.
    """
    model.eval()
    device = next(model.parameters()).device
    n = _n_rows(batch)
    out = [
        torch.sigmoid(model(to_device(_rows(batch, slice(i, i + batch_size)), device)))
        .float()
        .cpu()
        for i in range(0, n, batch_size)
    ]
    return torch.cat(out).numpy()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def mean_cell_auc(scores: np.ndarray, batch: Batch) -> float:
    """Mean AUC over the (task, domain) cells of ``batch``: scores (n, n_tasks),
    observed labels only (``label_mask``); cells holding a single class are skipped. NaN
    when no cell has both classes.

    Used by the PEPNet chapter (the validation score of :func:`train_multitask`).
    """
    labels, mask, domain = (
        _np(batch["labels"]),
        _np(batch["label_mask"]) > 0,
        _np(batch["domain"]),
    )
    values = []
    for t in range(labels.shape[1]):
        for k in np.unique(domain):
            sel = mask[:, t] & (domain == k)
            y = labels[sel, t]
            if y.size and 0 < y.sum() < y.size:
                values.append(auc(y, scores[sel, t]))
    return float(np.mean(values)) if values else math.nan


def train_multitask(
    model: torch.nn.Module,
    train_loader,
    val_batch: Batch,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    patience: int | None = 2,
    task_weights: Sequence[float] | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    desc: str = "multitask",
    monitor: str = "val_auc",
) -> History:
    """Train ``model`` with Adam on :func:`multitask_loss` through
    :func:`minilib.train.fit`.

    ``train_loader`` yields batch dicts (e.g. :class:`TensorBatches`). After every epoch
    the validation score ``val_auc`` = :func:`mean_cell_auc` of ``val_batch`` (mean AUC
    over its (task, domain) cells) decides the best epoch (mode "max"); training stops
    after ``patience`` epochs without improvement and the best weights are restored.
    Returns the :class:`~minilib.train.History` (columns epoch, train_loss, val_auc,
    seconds).

    With ``monitor="val_loss"`` the validation multi-task loss decides instead (mode
    "min"), which is smoother than AUCs of rare labels in small domains; both values are
    recorded every epoch.

    Used by the PEPNet chapter.
    """
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    def loss_fn(m, b):
        return multitask_loss(m(b), b["labels"], b["label_mask"], task_weights)

    if monitor not in ("val_auc", "val_loss"):
        raise ValueError(f"monitor must be 'val_auc' or 'val_loss', got {monitor!r}")

    def val_fn(m):
        probs = predict(m, val_batch)
        score = mean_cell_auc(probs, val_batch)
        if math.isnan(score):
            raise ValueError(
                "the validation batch has no (task, domain) cell with both classes: no "
                "AUC"
            )
        logits = torch.logit(
            torch.as_tensor(probs, dtype=torch.float32).clamp(1e-7, 1 - 1e-7)
        )
        loss = multitask_loss(
            logits,
            val_batch["labels"].float(),
            val_batch["label_mask"].float(),
            task_weights,
        )
        return {"val_auc": score, "val_loss": float(loss)}

    return fit(
        model,
        train_loader,
        loss_fn,
        optimizer,
        epochs=epochs,
        device=device,
        val_fn=val_fn,
        monitor=monitor,
        mode="max" if monitor == "val_auc" else "min",
        patience=patience,
        restore_best=True,
        progress=progress,
        desc=desc,
    )


def evaluate(
    model: torch.nn.Module, batch: Batch, spec: FeatureSpec, batch_size: int = 8192
) -> pd.DataFrame:
    """AUC and GAUC of every task in every domain, and over all domains.

    One row per (task, domain) for the domains of ``spec.domains`` (``batch["domain"]``
    indexes them), then one row per task with domain ``"all"``; columns ``task, domain,
    n, positives, auc, gauc``. Only rows whose label is observed count; ``gauc`` groups
    by ``batch["user"]`` (:func:`minilib.metrics.gauc`). A metric that is undefined (no
    row, a single class, no user with both classes) is NaN.

    Used by the PEPNet chapter.
    """
    probs = predict(model, batch, batch_size)
    labels, mask = _np(batch["labels"]), _np(batch["label_mask"]) > 0
    domain, users = _np(batch["domain"]), _np(batch["user"])
    everything = np.ones(len(domain), dtype=bool)
    cells = [(name, domain == k) for k, name in enumerate(spec.domains)] + [
        ("all", everything)
    ]
    rows = []
    for t, task in enumerate(spec.tasks):
        for name, in_domain in cells:
            sel = in_domain & mask[:, t]
            y, s, u = labels[sel, t], probs[sel, t], users[sel]
            n, positives = int(sel.sum()), int(y.sum())
            a = g = math.nan
            if 0 < positives < n:
                a = auc(y, s)
                try:
                    g = gauc(y, s, u)
                except ValueError:  # no user holds both classes
                    pass
            rows.append(
                {
                    "task": task,
                    "domain": name,
                    "n": n,
                    "positives": positives,
                    "auc": a,
                    "gauc": g,
                }
            )
    return pd.DataFrame(
        rows, columns=["task", "domain", "n", "positives", "auc", "gauc"]
    )


@torch.no_grad()
def gate_values(
    model: torch.nn.Module,
    batch: Batch,
    spec: FeatureSpec,
    *,
    max_samples: int | None = 2000,
    seed: int = 0,
    batch_size: int = 8192,
) -> pd.DataFrame:
    """The PEPNet gate values of a sample of ``batch``, in long format for distribution
    plots per domain.

    Columns: ``gate`` ("ep" or "pp"), ``task`` (None for the EPNet gate, shared by all
    tasks), ``layer`` ("embedding" for EPNet; for PPNet "input" for the tower input and
    "hidden1", "hidden2", ... for the inputs of the later hidden layers), ``slot`` (the
    embedding slot the value scales, for EPNet and for the PPNet tower input; None for
    hidden units), ``unit`` (index of the value inside its layer: the slot index for
    EPNet, ``slot * d + k`` for the tower input), ``domain`` (name from
    ``spec.domains``), ``row`` (the sample's row in ``batch``) and ``value`` (in ``[0,
    gamma]``). EPNet gives ``n_slots`` rows per sample, PPNet ``n_tasks * pp_width``; at
    most ``max_samples`` samples (drawn without replacement, fixed ``seed``) are used,
    to keep the frame small. The text columns are categorical.

    Raises ``TypeError`` for a model without PEPNet gates (SharedBottom, MMoE).

    Used by the PEPNet chapter.
    """
    if not (getattr(model, "use_ep", False) or getattr(model, "use_pp", False)):
        raise TypeError(
            f"{type(model).__name__} has no PEPNet gates (only EPNet, PPNet and PEPNet "
            "have 'ep' or 'pp' gates)"
        )
    model.eval()
    n = _n_rows(batch)
    rows = np.arange(n)
    if max_samples is not None and n > max_samples:
        rows = np.sort(
            np.random.default_rng(seed).choice(n, max_samples, replace=False)
        )
    sub = _rows(batch, torch.from_numpy(rows))
    device = next(model.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(rows), batch_size):
        _, gates = model(
            to_device(_rows(sub, slice(i, i + batch_size)), device), return_gates=True
        )
        for key in ("ep", "pp"):
            if key in gates:
                parts.setdefault(key, []).append(gates[key].float().cpu())
    dom_codes = _np(sub["domain"]).astype(np.int64)
    d = model.embedding.d
    widths = model.towers[0].gate_widths
    layer_names = ["embedding", "input"] + [f"hidden{i}" for i in range(1, len(widths))]
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("gate", "task", "layer", "slot", "unit", "domain", "row", "value")
    }

    # codes of one value per (sample, unit)
    def add(gate, task, layer, slot, unit, per_sample, values):
        S = len(rows)
        for key, col in (
            ("gate", np.full(S * per_sample, gate)),
            ("task", np.tile(task, S)),
            ("layer", np.tile(layer, S)),
            ("slot", np.tile(slot, S)),
            ("unit", np.tile(unit, S)),
            ("domain", np.repeat(dom_codes, per_sample)),
            ("row", np.repeat(rows, per_sample)),
            ("value", values.ravel()),
        ):
            cols[key].append(col)

    if "ep" in parts:
        ep = torch.cat(parts["ep"]).numpy()  # (S, n_slots)
        K = ep.shape[1]
        add(
            0,
            np.full(K, -1),
            np.zeros(K, dtype=np.int64),
            np.arange(K),
            np.arange(K),
            K,
            ep,
        )
    if "pp" in parts:
        pp = torch.cat(parts["pp"]).numpy()  # (S, n_tasks, pp_width)
        T, W = pp.shape[1:]
        # layer of each gate unit, 0 = tower input
        layer = np.repeat(np.arange(len(widths)), widths)
        unit = np.concatenate([np.arange(w) for w in widths])
        slot = np.where(layer == 0, unit // d, -1)
        add(
            1,
            np.repeat(np.arange(T), W),
            np.tile(layer + 1, T),
            np.tile(slot, T),
            np.tile(unit, T),
            T * W,
            pp,
        )
    c = {k: np.concatenate(v) for k, v in cols.items()}
    cat = pd.Categorical.from_codes
    return pd.DataFrame(
        {
            "gate": cat(c["gate"], categories=["ep", "pp"]),
            "task": cat(c["task"], categories=list(spec.tasks)),
            "layer": cat(c["layer"], categories=layer_names),
            "slot": cat(c["slot"], categories=list(model.embedding.slot_names)),
            "unit": c["unit"].astype(np.int64),
            "domain": cat(c["domain"], categories=list(spec.domains)),
            "row": c["row"].astype(np.int64),
            "value": c["value"].astype(np.float32),
        }
    )


def throughput(
    model: torch.nn.Module,
    batch: Batch,
    batch_size: int = 1024,
    steps: int = 20,
    warmup: int = 3,
) -> float:
    """Training samples per second: forward, :func:`multitask_loss`, backward and an
    Adam step on batches of ``batch_size`` rows sliced in turn from ``batch`` (already
    moved to the model's device), timed with ``time.perf_counter`` over ``steps`` steps
    after ``warmup`` untimed ones.

    A benchmark helper: it trains a deep copy of ``model``, which itself is left
    unchanged.

    Used by the PEPNet chapter.
    """
    m = copy.deepcopy(model)
    m.train()
    device = next(m.parameters()).device
    data = to_device(dict(batch), device)
    n = _n_rows(data)
    size = min(batch_size, n)
    per_pass = max(n // size, 1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def step(i: int) -> None:
        start = (i % per_pass) * size
        b = _rows(data, slice(start, start + size))
        opt.zero_grad(set_to_none=True)
        multitask_loss(m(b), b["labels"], b["label_mask"]).backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for i in range(warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(steps):
        step(warmup + i)
    sync()
    return steps * size / (time.perf_counter() - t0)
