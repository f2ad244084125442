"""The one training loop of the book: progress bar, validation, early stopping, a
returned history.

Chapters differ in what a batch holds (features and labels, label masks per task, frame
triplets), so the loop asks for a ``loss_fn(model, batch) -> scalar tensor`` instead of
guessing. A typical call::

    history = fit(model, train_loader, loss_fn, torch.optim.Adam(model.parameters()),
                  epochs=20, val_fn=lambda m: {"val_auc": evaluate(m)},
                  monitor="val_auc", mode="max", patience=3)
    history.frame()        # one row per epoch

Under ``torchrun`` the same call works on a ``DistributedDataParallel`` model with a
``DistributedSampler``: only rank 0 draws the progress bar, and the epoch loss is
averaged over ranks.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm import tqdm


@dataclass
class History:
    """What :func:`fit` did: one dict per epoch (``epoch``, ``train_loss``, ``seconds``
    and the validation metrics), the best epoch and score of the monitored value, and
    whether it stopped early.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    monitor: str | None = None
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    def frame(self):
        """The history as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.epochs)


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor of a (nested) tuple, list or dict batch to ``device``; other
    values pass through.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _distributed() -> tuple[bool, int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return True, torch.distributed.get_rank(), torch.distributed.get_world_size()
    return False, 0, 1


def _improved(score: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return score < best - min_delta if mode == "min" else score > best + min_delta


def fit(
    model: torch.nn.Module,
    train_loader: Iterable,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device | str = "cpu",
    val_fn: Callable[[torch.nn.Module], Mapping[str, float]] | None = None,
    monitor: str | None = None,
    mode: str = "min",
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    scheduler: Any = None,
    grad_clip: float | None = None,
    progress: bool = True,
    desc: str = "train",
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its :class:`History`.

    - ``loss_fn(model, batch)`` returns the scalar loss of one batch (already on
      ``device``);
    - ``val_fn(model)``, if given, runs after each epoch in eval mode without gradients
      and returns metrics (e.g. ``{"val_auc": 0.71}``);
    - ``monitor`` names the value that decides the best epoch (default ``"val_loss"``
      when ``val_fn`` is given, else ``"train_loss"``), ``mode`` is ``"min"`` or
      ``"max"``;
    - with ``patience`` training stops after that many epochs without improvement by
      more than ``min_delta``; with ``restore_best`` the best epoch's weights are loaded
      back at the end;
    - ``scheduler.step()`` is called once per epoch; ``grad_clip`` clips the global
      gradient norm.

    A non-finite loss stops training with a ``FloatingPointError`` naming the epoch and
    step.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be None or >= 1, got {patience}")
    monitor = monitor or ("val_loss" if val_fn is not None else "train_loss")
    dist, rank, _ = _distributed()
    model.to(device)
    history = History(monitor=monitor)
    best_state = None
    stale = 0
    try:
        steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    total = steps_per_epoch * epochs if steps_per_epoch is not None else None
    bar = tqdm(
        total=total,
        desc=desc,
        disable=not progress or rank != 0,
        mininterval=1.0,
        leave=True,
        dynamic_ncols=False,
        ncols=100,
    )
    try:
        for epoch in range(1, epochs + 1):
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            model.train()
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            n_steps = 0
            for step, batch in enumerate(train_loader, start=1):
                batch = to_device(batch, device)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model, batch)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"non-finite loss ({loss.item()}) at epoch {epoch}, step {step}"
                    )
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                loss_sum += loss.detach().to(torch.float64)
                n_steps += 1
                bar.update(1)
            totals = torch.stack(
                [
                    loss_sum,
                    torch.tensor(float(n_steps), dtype=torch.float64, device=device),
                ]
            )
            if dist:  # mean over every step of every rank
                torch.distributed.all_reduce(totals)
            if scheduler is not None:
                scheduler.step()
            row: dict[str, float] = {
                "epoch": epoch,
                "train_loss": float(totals[0] / totals[1].clamp(min=1)),
            }
            if val_fn is not None:
                model.eval()
                with torch.no_grad():
                    row.update({k: float(v) for k, v in val_fn(model).items()})
            row["seconds"] = time.perf_counter() - t0
            history.epochs.append(row)
            if monitor not in row:
                raise KeyError(
                    f"monitor {monitor!r} is not among the epoch values {sorted(row)}"
                )
            score = row[monitor]
            if math.isnan(score):
                raise FloatingPointError(
                    f"the monitored value {monitor!r} is NaN at epoch {epoch}"
                )
            if _improved(score, history.best_score, mode, min_delta):
                history.best_epoch, history.best_score, stale = epoch, score, 0
                if restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            bar.set_postfix(
                {
                    k: f"{v:.4g}"
                    for k, v in row.items()
                    if k not in ("epoch", "seconds")
                },
                refresh=False,
            )
            if patience is not None and stale >= patience:
                history.stopped_early = epoch < epochs
                break
    finally:
        bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
