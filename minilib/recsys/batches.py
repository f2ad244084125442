"""Batches held in memory: the prepared splits of a recommendation dataset, mini-batches
over them, and the row helpers every recommendation module uses.

A batch is a ``dict`` of tensors with one first dimension (see
:mod:`minilib.recsys.spec`).

Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from .features import Normalizer, Vocab
from .spec import FeatureSpec

__all__ = [
    "SPLITS",
    "DictDataset",
    "Prepared",
    "TensorBatches",
    "n_rows",
    "rows",
    "to_numpy",
]

Batch = Mapping[str, torch.Tensor]

SPLITS: tuple[str, ...] = ("train", "val", "test")


def n_rows(batch: Batch) -> int:
    """Number of rows of a batch (the length of its ``labels``)."""
    return int(batch["labels"].shape[0])


def rows(batch: Batch, index: slice | torch.Tensor) -> dict[str, torch.Tensor]:
    """The rows ``index`` of every tensor of ``batch``."""
    return {k: v[index] for k, v in batch.items()}


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array on the CPU, detached."""
    return t.detach().cpu().numpy()


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
        self.n = n_rows(batch)
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
            yield rows(
                self.batch, order[i * self.batch_size : (i + 1) * self.batch_size]
            )


class DictDataset(torch.utils.data.Dataset):
    """Rows of a dict of equally long tensors; indexing with a list/tensor of rows
    returns a whole batch dict.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]):
        self.tensors = dict(tensors)
        sizes = {k: v.shape[0] for k, v in self.tensors.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"tensors differ in length: {sizes}")
        self.n = next(iter(sizes.values())) if sizes else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: Any) -> dict[str, torch.Tensor]:
        if not isinstance(idx, (int, np.integer)):
            idx = torch.as_tensor(idx, dtype=torch.long)
        return {k: v[idx] for k, v in self.tensors.items()}


@dataclass(repr=False)
class Prepared:
    """Everything a recsys chapter needs from the data: the spec, whole-split batches
    and how they were made.

    - ``spec``: the :class:`~minilib.recsys.spec.FeatureSpec` (field names, vocabulary
      sizes, domains, tasks);
    - ``train``/``val``/``test``: dicts with the keys of
      :data:`~minilib.recsys.spec.BATCH_KEYS`, each tensor holding the whole split
      (first dimension = split size), rows in time order;
    - ``frames``: per split, the joined rows (log + video + user columns, the derived
      ``hour``/``weekday``/ ``duration_bucket``/``domain``/``domain_index`` columns and
      the raw causal dense columns), index = row number in the time-sorted deduplicated
      log; for inspection and figures;
    - ``vocabs``: field -> :class:`Vocab` (fitted on train); ``normalizer``: the dense
      :class:`Normalizer`;
    - ``oov_rate[split][field]``: fraction of the split's rows whose value is present
      but unseen in train (so mapped to 0); ``missing_rate[split][field]``: fraction
      with a missing value (also mapped to 0);
    - ``info``: build facts (dropped duplicate rows, cut times, duration decile edges,
      rate priors, split sizes, users without a user-table row, build seconds).

    Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """

    spec: FeatureSpec
    train: dict[str, torch.Tensor]
    val: dict[str, torch.Tensor]
    test: dict[str, torch.Tensor]
    frames: dict[str, pd.DataFrame]
    vocabs: dict[str, Vocab]
    normalizer: Normalizer
    oov_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> dict[str, torch.Tensor]:
        """The whole-split batch dict of ``name`` (``"train"``, ``"val"`` or
        ``"test"``).
        """
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Rows per split."""
        return {s: int(self.split(s)["labels"].shape[0]) for s in SPLITS}

    def loader(
        self,
        split: str,
        batch_size: int = 1024,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> torch.utils.data.DataLoader:
        """A :class:`torch.utils.data.DataLoader` of batch dicts (keys
        :data:`BATCH_KEYS`) over one split.

        Batches are gathered by index from the whole-split tensors (no per-row
        collation, so an epoch over the 30k training rows takes milliseconds).
        ``shuffle`` draws the order from a ``torch.Generator`` seeded with ``seed``: two
        loaders made with the same arguments yield identical batches; iterating the
        *same* loader again continues the generator (a new, still deterministic, order
        per epoch). Without shuffle, rows come in time order. Tensors are on the CPU;
        move them with ``{k: v.to(device) for k, v in batch.items()}``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ds = DictDataset(self.split(split))
        if shuffle:
            gen = torch.Generator()
            gen.manual_seed(int(seed))
            base: torch.utils.data.Sampler = torch.utils.data.RandomSampler(
                ds, generator=gen
            )
        else:
            base = torch.utils.data.SequentialSampler(ds)
        sampler = torch.utils.data.BatchSampler(
            base, batch_size=batch_size, drop_last=drop_last
        )
        return torch.utils.data.DataLoader(
            ds, sampler=sampler, batch_size=None, num_workers=0
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes().items())
        return (
            f"Prepared({sizes}; {len(self.spec.sparse)} sparse, {len(self.spec.dense)} "
            "dense, "
            f"history {self.spec.history_len}, domains {list(self.spec.domains)}, "
            f"tasks {list(self.spec.tasks)})"
        )
