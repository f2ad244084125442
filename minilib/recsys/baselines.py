"""Baselines of the recommendation chapters: the shared-bottom model, the multi-gate
mixture of experts (MMoE), and DIN's target attention over the user's history.

All read the embedding ``E (B, n_slots, d)`` of
:class:`~minilib.recsys.layers.FeatureEmbedding` and return ``(B, n_tasks)`` logits.

Used by the PEPNet chapter; DIN is the target-attention baseline of the TWIN, TWIN-V2
and Pyramid Mixer chapters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import HISTORY_SLOT, MultiTaskModel, Tower, mlp
from .spec import FeatureSpec

__all__ = ["DIN", "MMoE", "SharedBottom", "TargetAttention"]


class SharedBottom(MultiTaskModel):
    """Shared-bottom multi-task model: ``E (B, n_slots, d)`` flattened to ``(B, n_slots
    * d)``, one MLP ``bottom`` shared by all tasks, then one MLP tower per task ending
    in one logit -> ``(B, n_tasks)``.

    No gates (``return_gates`` gives an empty dict). The baseline of the PEPNet chapter.

    Used by the PEPNet chapter.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        d: int,
        bottom: Sequence[int] = (128,),
        tower: Sequence[int] = (64, 32),
    ):
        super().__init__(spec, d)
        self.bottom = mlp(self.in_dim, bottom)
        top_in = bottom[-1] if len(bottom) else self.in_dim
        self.towers = nn.ModuleList(Tower(top_in, tower) for _ in spec.tasks)

    def _forward(self, batch):
        shared = self.bottom(self.embedding(batch).flatten(1))  # (B, bottom[-1])
        return torch.stack([t(shared) for t in self.towers], dim=1), {}


class MMoE(MultiTaskModel):
    """Multi-gate mixture of experts (Ma et al., KDD 2018): ``n_experts`` MLPs on the
    flattened ``E (B, n_slots * d)``, each giving ``(B, expert[-1])``; task ``t`` mixes
    them with its own softmax gate ``w_t = softmax(x G_t) (B, n_experts)`` read from the
    same flattened ``E``, and its tower maps the mixture to one logit -> ``(B,
    n_tasks)``.

    ``return_gates`` gives ``{"mmoe": (B, n_tasks, n_experts)}``, the mixture weights
    (not PEPNet gates: :func:`minilib.recsys.multitask.gate_values` does not plot them).
    A baseline of the PEPNet chapter.

    Used by the PEPNet chapter.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        d: int,
        n_experts: int = 4,
        expert: Sequence[int] = (128,),
        tower: Sequence[int] = (64, 32),
    ):
        super().__init__(spec, d)
        if n_experts < 1 or not len(expert):
            raise ValueError("MMoE needs n_experts >= 1 and at least one expert layer")
        self.experts = nn.ModuleList(mlp(self.in_dim, expert) for _ in range(n_experts))
        self.gates = nn.ModuleList(
            nn.Linear(self.in_dim, n_experts) for _ in spec.tasks
        )
        self.towers = nn.ModuleList(Tower(expert[-1], tower) for _ in spec.tasks)

    def _forward(self, batch):
        x = self.embedding(batch).flatten(1)  # (B, n_slots * d)
        experts = torch.stack([e(x) for e in self.experts], dim=1)  # (B, n_experts, h)
        # (B, n_tasks, n_experts)
        weights = torch.stack([torch.softmax(g(x), dim=-1) for g in self.gates], dim=1)
        # f_t(x) = sum_e w_t,e(x) expert_e(x)
        mixed = torch.einsum("bte,beh->bth", weights, experts)
        logits = torch.stack(
            [tower(mixed[:, t]) for t, tower in enumerate(self.towers)], dim=1
        )
        return logits, {"mmoe": weights}


class TargetAttention(nn.Module):
    """DIN's local activation unit (Zhou et al., KDD 2018): how much each history item
    says about the target item, and the history pooled by it.

    ``a_i = MLP(e_i (+) v (+) (e_i - v) (+) e_i * v)`` for history items ``e_i (B, L,
    d)`` and the target ``v (B, d)``; the pooled interest is ``sum_i a_i e_i`` over the
    real items (``mask (B, L)``, 0 for padding). As in DIN the weights are not
    normalised by a softmax, so the pooled vector keeps the strength of the interest.
    Returns ``(pooled (B, d), weights (B, L))``.

    Used by the TWIN, TWIN-V2 and Pyramid Mixer chapters (through :class:`DIN`).
    """

    def __init__(self, d: int, hidden: Sequence[int] = (36,)):
        super().__init__()
        if d < 1 or not len(hidden):
            raise ValueError(
                "TargetAttention needs d >= 1 and at least one hidden layer"
            )
        self.mlp = nn.Sequential(mlp(4 * d, hidden), nn.Linear(hidden[-1], 1))

    def forward(
        self, items: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        v = target.unsqueeze(1).expand_as(items)  # (B, L, d)
        x = torch.cat([items, v, items - v, items * v], dim=-1)  # (B, L, 4d)
        weights = self.mlp(x).squeeze(-1) * mask  # a_i, 0 on padding: (B, L)
        return (weights.unsqueeze(-1) * items).sum(dim=1), weights


class DIN(SharedBottom):
    """The shared-bottom model whose history slot is DIN's target attention instead of
    the mean: the user's previous items are pooled by :class:`TargetAttention` against
    the target item (the row's ``spec.history_field`` embedding), then flattened with
    the other slots into the shared bottom and the task towers -> ``(B, n_tasks)``.

    ``return_gates`` gives ``{"attention": (B, L)}``, the weight of every history item.

    Used by the TWIN, TWIN-V2 and Pyramid Mixer chapters.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        d: int,
        bottom: Sequence[int] = (128,),
        tower: Sequence[int] = (64, 32),
        attention_hidden: Sequence[int] = (36,),
    ):
        super().__init__(spec, d, bottom, tower)
        self.attention = TargetAttention(d, attention_hidden)
        self.history_slot = self.embedding.slot_index([HISTORY_SLOT])[0]
        self.target_slot = self.embedding.slot_index([spec.history_field])[0]

    def _forward(self, batch):
        E = self.embedding(batch)  # (B, n_slots, d), history slot = mean of the items
        items, mask = self.embedding.history_items(batch)  # (B, L, d), (B, L)
        pooled, weights = self.attention(items, E[:, self.target_slot], mask)
        slots = list(E.unbind(dim=1))
        slots[self.history_slot] = pooled
        shared = self.bottom(torch.stack(slots, dim=1).flatten(1))
        logits = torch.stack([t(shared) for t in self.towers], dim=1)
        return logits, {"attention": weights}
