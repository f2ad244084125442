"""The one training loop of the book: by step, with callbacks.

Chapters differ in what a batch holds (features and labels, masks per task, clips of
frames), so the loop asks for a ``loss_fn(model, batch)`` instead of guessing, and
everything around the optimiser step is a :class:`Callback`:

- :class:`Validate`: evaluation every ``k`` steps or at the end of every epoch, early
  stopping on a validation metric, and the best iterate kept (in memory, and on disk
  with ``checkpoint``);
- :class:`Schedule`: a learning-rate schedule stepped after every optimiser step (or
  every epoch);
- :class:`EMATeacher`: a mean teacher that follows the model after every step;
- progress: a bar over the steps (``progress=True``).

A run over epochs of a finite loader, with early stopping::

    history = fit(model, loader, loss_fn, torch.optim.Adam(model.parameters()),
                  epochs=20, callbacks=[Validate(val_fn, monitor="val_auc",
                                                 mode="max", patience=3)])

and a run of a fixed number of steps over an endless sampler, with a cosine schedule::

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    fit(model, sampler, loss_fn, opt, steps=3000,
        callbacks=[Schedule(torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3000))])

``loss_fn`` returns the scalar loss, or ``(loss, extras)`` with a dict of scalars that
the history keeps per step (e.g. the share of supervised pixels). Under ``torchrun``
the same call works on a ``DistributedDataParallel`` model with a
``DistributedSampler``: only rank 0 draws the progress bar, and the epoch loss is
averaged over ranks.

Used by every chapter that trains a model (PEPNet, SAE, two-shot VOS, and the chapters
to come).
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .runtime import progress as progress_bar

__all__ = [
    "Callback",
    "EMATeacher",
    "FitState",
    "History",
    "Schedule",
    "Validate",
    "ema_update",
    "fit",
    "mean_teacher",
    "to_device",
]

LossFn = Callable[[torch.nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, dict]"]


@dataclass
class History:
    """What :func:`fit` did.

    - ``steps``: one dict per optimiser step (``step``, ``loss`` and the loss
      function's extras);
    - ``epochs``: one dict per complete pass over a finite loader (``epoch``, ``step``,
      ``train_loss``, ``seconds``, and the validation metrics when a :class:`Validate`
      ran at the end of that epoch);
    - ``evals``: one dict per validation (``step``, ``epoch`` and the metrics);
    - ``monitor``, ``best_step``, ``best_epoch``, ``best_score``: the validation value
      that decides the best iterate, and where it was reached; ``stopped_early``;
      ``seconds``: the whole run.

    ``history["train_loss"]`` reads a column of ``epochs``; ``len(history)`` is the
    number of epochs.
    """

    steps: list[dict[str, float]] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    monitor: str | None = None
    best_step: int | None = None
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    def frame(self):
        """The epochs as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.epochs)

    def step_frame(self):
        """The steps as a pandas DataFrame, one row per optimiser step."""
        import pandas as pd

        return pd.DataFrame(self.steps)


@dataclass
class FitState:
    """What a callback sees: the model, the optimiser, the counters (``step`` counts
    completed optimiser steps, ``epoch`` the pass over the loader in progress), the
    history so far, the row of the epoch being closed (``epoch_row``, only in
    :meth:`Callback.on_epoch_end`), and ``stop``, which a callback sets to end the run
    after the current step."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device | str
    history: History
    total_steps: int | None
    step: int = 0
    epoch: int = 0
    epoch_row: dict[str, float] | None = None
    stop: bool = False
    rank: int = 0


class Callback:
    """Hooks of :func:`fit`, each a no-op here; subclasses override what they need.

    Order within a step: forward and loss, backward, optimiser step, then
    :meth:`on_step_end` of every callback in the order given to :func:`fit`.
    """

    def on_fit_start(self, state: FitState) -> None:
        """Before the first step."""

    def on_step_end(self, state: FitState) -> None:
        """After every optimiser step (``state.step`` already counts it)."""

    def on_epoch_end(self, state: FitState) -> None:
        """After a complete pass over a finite loader; ``state.epoch_row`` is the
        epoch's row of the history, to which a callback may add values."""

    def on_fit_end(self, state: FitState) -> None:
        """After the last step (also after an early stop)."""

    def postfix(self) -> dict[str, float]:
        """Values to show on the progress bar."""
        return {}


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor of a (nested) tuple, list or dict batch to ``device``; other
    values pass through."""
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


# --------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------


class Validate(Callback):
    """Evaluate, stop early, keep the best iterate.

    - ``val_fn(model)`` runs in eval mode without gradients and returns metrics (e.g.
      ``{"val_auc": 0.71}``); ``every=None`` runs it at the end of every epoch,
      ``every=k`` after every ``k`` optimiser steps (and after the last step);
    - ``monitor`` names the value that decides the best iterate, ``mode`` is ``"min"``
      or ``"max"``; an improvement must exceed ``min_delta``;
    - with ``patience`` the run stops after that many validations without improvement;
    - with ``restore_best`` the best iterate's weights are loaded back at the end; with
      ``checkpoint`` (a file path) they are also written there whenever they improve
      (atomically: a temporary file, then a rename).

    A missing or NaN monitored value raises (``KeyError``, ``FloatingPointError``).
    """

    def __init__(
        self,
        val_fn: Callable[[torch.nn.Module], Mapping[str, float]],
        *,
        monitor: str = "val_loss",
        mode: str = "min",
        every: int | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
        checkpoint: str | os.PathLike | None = None,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be None or >= 1, got {patience}")
        if every is not None and every < 1:
            raise ValueError(f"every must be None or >= 1, got {every}")
        self.val_fn, self.monitor, self.mode = val_fn, monitor, mode
        self.every, self.patience, self.min_delta = every, patience, min_delta
        self.restore_best = restore_best
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.best_state: dict[str, torch.Tensor] | None = None
        self._stale = 0
        self._last_step = -1
        self._latest: dict[str, float] = {}

    def _improved(self, score: float, best: float | None) -> bool:
        if best is None:
            return True
        if self.mode == "min":
            return score < best - self.min_delta
        return score > best + self.min_delta

    def _evaluate(self, state: FitState, row: dict[str, float] | None) -> None:
        model = state.model
        model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in self.val_fn(model).items()}
        model.train()
        self._last_step = state.step
        self._latest = metrics
        if self.monitor not in metrics:
            raise KeyError(
                f"monitor {self.monitor!r} is not among the validation values "
                f"{sorted(metrics)}"
            )
        score = metrics[self.monitor]
        if math.isnan(score):
            raise FloatingPointError(
                f"the monitored value {self.monitor!r} is NaN at step {state.step}"
            )
        history = state.history
        history.evals.append({"step": state.step, "epoch": state.epoch, **metrics})
        if row is not None:
            row.update(metrics)
        if self._improved(score, history.best_score):
            history.best_score, history.best_step = score, state.step
            history.best_epoch = state.epoch if row is not None else None
            self._stale = 0
            if self.restore_best or self.checkpoint is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            if self.checkpoint is not None and state.rank == 0:
                _save_atomic(self.best_state, self.checkpoint)
        else:
            self._stale += 1
        if self.patience is not None and self._stale >= self.patience:
            state.stop = True

    def on_fit_start(self, state: FitState) -> None:
        state.history.monitor = self.monitor
        self.best_state, self._stale, self._last_step = None, 0, -1

    def on_step_end(self, state: FitState) -> None:
        if self.every is not None and state.step % self.every == 0:
            self._evaluate(state, None)

    def on_epoch_end(self, state: FitState) -> None:
        if self.every is None:
            self._evaluate(state, state.epoch_row)

    def on_fit_end(self, state: FitState) -> None:
        if self.every is not None and self._last_step != state.step:
            self._evaluate(state, None)
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)

    def postfix(self) -> dict[str, float]:
        return dict(self._latest)


def _save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Schedule(Callback):
    """Step a learning-rate scheduler after every optimiser step (``per="step"``) or
    after every epoch (``per="epoch"``)."""

    def __init__(self, scheduler: Any, per: str = "step"):
        if per not in ("step", "epoch"):
            raise ValueError(f"per must be 'step' or 'epoch', got {per!r}")
        self.scheduler, self.per = scheduler, per

    def on_step_end(self, state: FitState) -> None:
        if self.per == "step":
            self.scheduler.step()

    def on_epoch_end(self, state: FitState) -> None:
        if self.per == "epoch":
            self.scheduler.step()


@torch.no_grad()
def ema_update(
    teacher: torch.nn.Module, student: torch.nn.Module, decay: float
) -> None:
    """Mean teacher: ``theta_teacher <- decay * theta_teacher + (1 - decay) *
    theta_student``; buffers are copied."""
    if not 0 <= decay <= 1:
        raise ValueError(f"the EMA decay lies in [0, 1]; got {decay}")
    for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
        t.mul_(decay).add_(s.detach(), alpha=1 - decay)
    for t, s in zip(teacher.buffers(), student.buffers(), strict=True):
        t.copy_(s)


def mean_teacher(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of ``model`` (no gradients, eval mode) to serve as its mean
    teacher (:class:`EMATeacher`)."""
    teacher = copy.deepcopy(model)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval()


class EMATeacher(Callback):
    """After every optimiser step, move ``teacher`` towards the model by
    :func:`ema_update` with ``decay`` (Tarvainen and Valpola, 2017)."""

    def __init__(self, teacher: torch.nn.Module, decay: float):
        if not 0 <= decay <= 1:
            raise ValueError(f"the EMA decay lies in [0, 1]; got {decay}")
        self.teacher, self.decay = teacher, decay

    def on_fit_start(self, state: FitState) -> None:
        self.teacher.eval()

    def on_step_end(self, state: FitState) -> None:
        ema_update(self.teacher, state.model, self.decay)


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------


def _split_loss(out: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    if isinstance(out, tuple):
        loss, extras = out
        return loss, dict(extras)
    return out, {}


def _length(batches: Iterable) -> int | None:
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return None


def fit(
    model: torch.nn.Module,
    batches: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    device: torch.device | str = "cpu",
    callbacks: Sequence[Callback] = (),
    grad_clip: float | None = None,
    progress: bool = True,
    desc: str = "train",
) -> History:
    """Train ``model`` and return its :class:`History`.

    - ``batches`` is iterated once per epoch (a loader with ``len``), or is an endless
      iterable (a sampler) consumed one batch per step;
    - ``epochs`` bounds the passes over ``batches``, ``steps`` the optimiser steps; give
      one or both (the run ends at whichever comes first);
    - ``loss_fn(model, batch)`` gets the batch on ``device`` and returns the scalar loss
      or ``(loss, extras)``;
    - ``grad_clip`` clips the global gradient norm;
    - the callbacks run in the order given (see :class:`Callback`).

    The model trains in train mode and is left in eval mode. A non-finite loss stops
    training with a ``FloatingPointError`` naming the epoch and step.
    """
    if epochs is None and steps is None:
        raise ValueError("give epochs, steps or both")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dist, rank, _ = _distributed()
    length = _length(batches)
    if steps is None and length is None:
        raise ValueError("batches has no length: give steps")
    total = steps if length is None or epochs is None else length * epochs
    if steps is not None and total is not None:
        total = min(total, steps)
    model.to(device)
    history = History()
    state = FitState(model, optimizer, device, history, total, rank=rank)
    callbacks = list(callbacks)
    bar = progress_bar(
        total=total, desc=desc, disable=not progress or rank != 0, leave=True
    )
    losses: list[torch.Tensor] = []
    extras: list[dict[str, Any]] = []
    start = time.perf_counter()
    for cb in callbacks:
        cb.on_fit_start(state)
    try:
        while not state.stop and (epochs is None or state.epoch < epochs):
            state.epoch += 1
            sampler = getattr(batches, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(state.epoch)
            model.train()
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            n_steps = 0
            complete = True
            for i, batch in enumerate(batches, start=1):
                batch = to_device(batch, device)
                optimizer.zero_grad(set_to_none=True)
                loss, more = _split_loss(loss_fn(model, batch))
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"non-finite loss ({loss.item()}) at epoch {state.epoch}, "
                        f"step {i}"
                    )
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                state.step += 1
                detached = loss.detach()
                loss_sum += detached.to(torch.float64)
                n_steps += 1
                losses.append(detached)
                extras.append(more)
                for cb in callbacks:
                    cb.on_step_end(state)
                bar.update(1)
                if state.stop or (steps is not None and state.step >= steps):
                    complete = length is not None and i == length
                    break
            else:
                complete = True
            if n_steps == 0:
                raise ValueError("batches yielded no batch")
            if not complete:
                break
            totals = torch.stack(
                [
                    loss_sum,
                    torch.tensor(float(n_steps), dtype=torch.float64, device=device),
                ]
            )
            if dist:  # mean over every step of every rank
                torch.distributed.all_reduce(totals)
            train_loss = float(totals[0] / totals[1].clamp(min=1))
            row = {"epoch": state.epoch, "step": state.step, "train_loss": train_loss}
            state.epoch_row = row
            for cb in callbacks:
                cb.on_epoch_end(state)
            state.epoch_row = None
            row["seconds"] = time.perf_counter() - t0
            history.epochs.append(row)
            shown = {"loss": train_loss}
            for cb in callbacks:
                shown.update(cb.postfix())
            bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
            if steps is not None and state.step >= steps:
                break
        history.stopped_early = (
            state.stop
            and (epochs is None or state.epoch < epochs or not complete)
            and (steps is None or state.step < steps)
        )
        for cb in callbacks:
            cb.on_fit_end(state)
    finally:
        bar.close()
    history.steps = _step_rows(losses, extras)
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


def _step_rows(
    losses: list[torch.Tensor], extras: list[dict[str, Any]]
) -> list[dict[str, float]]:
    """One dict per step, with every tensor turned into a float in one transfer."""
    if not losses:
        return []
    values = torch.stack(losses).double().cpu().tolist()
    rows = []
    for step, (value, more) in enumerate(zip(values, extras, strict=True), start=1):
        row = {"step": step, "loss": value}
        for k, v in more.items():
            row[k] = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
        rows.append(row)
    return rows
