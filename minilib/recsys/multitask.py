"""Training, prediction and evaluation of the multi-task recommendation models.

A typical run of the PEPNet chapter::

    model = PEPNet(spec, d=8)
    history = train_multitask(model, TensorBatches(train, 1024), val, epochs=10)
    evaluate(model, test, spec)          # AUC / GAUC per task and domain

Training goes through the book's one loop, :func:`minilib.train.fit`. Batches follow the
contract of :mod:`minilib.recsys.spec`.

Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
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

from ..metrics import auc, gauc
from ..train import History, Validate, fit, to_device
from .batches import n_rows, rows, to_numpy
from .spec import FeatureSpec

__all__ = [
    "evaluate",
    "mean_cell_auc",
    "multitask_loss",
    "predict",
    "throughput",
    "train_multitask",
]

Batch = Mapping[str, torch.Tensor]


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
    n = n_rows(batch)
    out = [
        torch.sigmoid(model(to_device(rows(batch, slice(i, i + batch_size)), device)))
        .float()
        .cpu()
        for i in range(0, n, batch_size)
    ]
    return torch.cat(out).numpy()


def mean_cell_auc(
    scores: np.ndarray, batch: Batch, tasks: Sequence[int] | None = None
) -> float:
    """Mean AUC over the (task, domain) cells of ``batch``: scores (n, n_tasks),
    observed labels only (``label_mask``); cells holding a single class are skipped. NaN
    when no cell has both classes. ``tasks`` (indices into the task columns) limits the
    cells to those tasks.

    Used by the PEPNet chapter (the validation score of :func:`train_multitask`, and
    the comparison of the models).
    """
    labels, mask, domain = (
        to_numpy(batch["labels"]),
        to_numpy(batch["label_mask"]) > 0,
        to_numpy(batch["domain"]),
    )
    values = []
    for t in range(labels.shape[1]) if tasks is None else tasks:
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

    validate = Validate(
        val_fn,
        monitor=monitor,
        mode="max" if monitor == "val_auc" else "min",
        patience=patience,
        restore_best=True,
    )
    return fit(
        model,
        train_loader,
        loss_fn,
        optimizer,
        epochs=epochs,
        device=device,
        callbacks=[validate],
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
    labels, mask = to_numpy(batch["labels"]), to_numpy(batch["label_mask"]) > 0
    domain, users = to_numpy(batch["domain"]), to_numpy(batch["user"])
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
    n = n_rows(data)
    size = min(batch_size, n)
    per_pass = max(n // size, 1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def step(i: int) -> None:
        start = (i % per_pass) * size
        b = rows(data, slice(start, start + size))
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
