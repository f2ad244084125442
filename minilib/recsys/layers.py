"""Layers shared by the recommendation models: the feature embedding every model reads,
MLPs, task towers and the base class of a multi-task model.

Every model reads a batch as described in :mod:`minilib.recsys.spec`, embeds it with
:class:`FeatureEmbedding` into a matrix of slots ``E: (B, n_slots, d)`` and returns one
logit per task ``(B, n_tasks)``; ``forward(batch, return_gates=True)`` also returns the
model's gate tensors (empty for a model without gates).

Used by the PEPNet chapter and the TWIN, TWIN-V2 and Pyramid Mixer chapters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .spec import FeatureSpec

__all__ = [
    "EMBEDDING_INIT_STD",
    "HISTORY_SLOT",
    "FeatureEmbedding",
    "MultiTaskModel",
    "Tower",
    "mlp",
]

Batch = Mapping[str, torch.Tensor]


#: Standard deviation of the normal initialisation of every embedding row and dense
#: projection weight.
EMBEDDING_INIT_STD = 0.05


HISTORY_SLOT = "history"


class FeatureEmbedding(nn.Module):
    """Embed one batch into a matrix of slots ``E: (B, n_slots, d)``.

    The slots, in order (their names are in ``slot_names``):

    1. one per sparse field of ``spec.sparse``: a row of that field's table
       (``spec.vocab_sizes[f]`` rows of width ``d``). Index 0, the out-of-vocabulary /
       missing bucket, is an ordinary trainable row: an unknown user still gets a
       (shared) learned vector, not a zero;
    2. ``"history"``: the mean of the embeddings of the user's previous impressions
       ``batch["history"]`` (B, L), looked up in the SAME table as
       ``spec.history_field`` (no extra parameters). Index 0 means padding there and is
       left out of the mean; a user without history gets the zero vector;
    3. one per dense feature of ``spec.dense``: the scalar ``x_j`` times its own learned
       vector plus its own bias, ``x_j w_j + b_j`` in R^d. Each numeric feature thus
       gets its own slot, and so its own EPNet gate value (the alternative, one linear
       map of all dense features to a single slot, would give them one gate together).

    ``n_slots = len(spec.sparse) + 1 + len(spec.dense)``. Initialisation: every
    embedding row and dense weight ~ N(0, EMBEDDING_INIT_STD^2), dense biases 0;
    deterministic under ``torch.manual_seed``.

    Used by the PEPNet chapter.
    """

    def __init__(self, spec: FeatureSpec, d: int, init_std: float = EMBEDDING_INIT_STD):
        super().__init__()
        if d < 1:
            raise ValueError(f"d must be >= 1, got {d}")
        self.spec = spec
        self.d = d
        self.tables = nn.ModuleList(
            nn.Embedding(spec.vocab_sizes[f], d) for f in spec.sparse
        )
        n_dense = len(spec.dense)
        self.dense_weight = nn.Parameter(torch.empty(n_dense, d))
        self.dense_bias = nn.Parameter(torch.zeros(n_dense, d))
        for table in self.tables:
            nn.init.normal_(table.weight, std=init_std)
        nn.init.normal_(self.dense_weight, std=init_std)
        self.slot_names: tuple[str, ...] = (*spec.sparse, HISTORY_SLOT, *spec.dense)
        if len(set(self.slot_names)) != len(self.slot_names):
            raise ValueError(
                f"slot names must be unique (sparse, {HISTORY_SLOT!r}, dense): "
                f"{self.slot_names}"
            )
        self._history_col = spec.index(spec.history_field)

    @property
    def n_slots(self) -> int:
        """Number of slots of ``E``."""
        return len(self.slot_names)

    def slot_index(self, names: Sequence[str]) -> list[int]:
        """Positions of the slots ``names`` in ``E`` (for sparse fields: their column in
        ``spec.sparse``).
        """
        missing = [n for n in names if n not in self.slot_names]
        if missing:
            raise KeyError(
                f"no embedding slots {missing}; slots are {list(self.slot_names)}"
            )
        return [self.slot_names.index(n) for n in names]

    def history_items(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The embeddings of the user's previous items ``(B, L, d)`` (the table of
        ``spec.history_field``) and the mask of real items ``(B, L)``, 0 for padding."""
        hist = batch["history"]
        table = self.tables[self._history_col]
        return table(hist), (hist != 0).to(table.weight.dtype)

    def history(self, batch: Batch) -> torch.Tensor:
        """Mean-pooled history embedding (B, d), padding (index 0) masked out, zeros for
        empty histories.
        """
        items, mask = self.history_items(batch)
        mask = mask.unsqueeze(-1)  # (B, L, 1)
        summed = (items * mask).sum(dim=1)  # (B, d)
        return summed / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, batch: Batch) -> torch.Tensor:
        """``E: (B, n_slots, d)`` from ``batch["sparse"]`` (B, n_sparse),
        ``batch["history"]`` (B, L) and ``batch["dense"]`` (B, n_dense).
        """
        sparse = batch["sparse"]
        # n_sparse x (B, d)
        slots = [table(sparse[:, j]) for j, table in enumerate(self.tables)]
        slots.append(self.history(batch))
        E = torch.stack(slots, dim=1)  # (B, n_sparse + 1, d)
        if len(self.spec.dense):
            dense = batch["dense"].to(self.dense_weight.dtype)
            # x_j w_j + b_j: (B, n_dense, d)
            dense_e = dense.unsqueeze(-1) * self.dense_weight + self.dense_bias
            E = torch.cat([E, dense_e], dim=1)
        return E

    def fields(self, batch: Batch, names: Sequence[str]) -> torch.Tensor:
        """Embeddings of the sparse fields ``names`` only, ``(B, len(names), d)``: the
        same values as ``forward(batch)[:, slot_index(names)]`` without embedding the
        rest (e.g. a gate's prior fields).
        """
        unknown = [n for n in names if n not in self.spec.sparse]
        if unknown:
            raise KeyError(f"{unknown} are not sparse fields {list(self.spec.sparse)}")
        sparse = batch["sparse"]
        cols = [self.spec.index(n) for n in names]
        return torch.stack([self.tables[c](sparse[:, c]) for c in cols], dim=1)


def mlp(in_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """Linear + ReLU layers of widths ``hidden``; the identity when ``hidden`` is
    empty.
    """
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    return nn.Sequential(*layers)


class Tower(nn.Module):
    """One task tower ``(B, in_dim) -> (B,)`` logits: hidden Linear + ReLU layers, then
    a Linear to 1.

    With ``delta`` (B, sum(gate_widths)) the input of every hidden layer is first scaled
    elementwise by its slice of ``delta`` (PPNet); ``gate_widths = (in_dim, hidden[0],
    ..., hidden[-2])``. The input of the final logit layer is not gated.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int]):
        super().__init__()
        dims = (in_dim, *hidden)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.out = nn.Linear(dims[-1], 1)
        self.gate_widths: tuple[int, ...] = dims[:-1]

    def forward(
        self, h: torch.Tensor, delta: torch.Tensor | None = None
    ) -> torch.Tensor:
        if delta is None:
            for layer in self.layers:
                h = torch.relu(layer(h))
        else:
            for layer, delta_l in zip(
                self.layers, torch.split(delta, self.gate_widths, dim=1), strict=True
            ):
                # H_{l+1} = f((delta_task^l * H_l) W_l + b_l)
                h = torch.relu(layer(delta_l * h))
        return self.out(h).squeeze(-1)


class MultiTaskModel(nn.Module):
    """Common part of all models: the embedding, the sizes, and ``forward(batch,
    return_gates)``.
    """

    def __init__(self, spec: FeatureSpec, d: int):
        super().__init__()
        if not spec.tasks:
            raise ValueError("spec.tasks is empty")
        self.spec = spec
        self.d = d
        self.n_tasks = len(spec.tasks)
        self.embedding = FeatureEmbedding(spec, d)
        self.n_slots = self.embedding.n_slots
        self.in_dim = self.n_slots * d

    def _forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def forward(
        self, batch: Batch, return_gates: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits ``(B, n_tasks)`` in the order of ``spec.tasks``; with ``return_gates``
        also the dict of gate tensors (empty for models without gates).
        """
        logits, gates = self._forward(batch)
        return (logits, gates) if return_gates else logits
