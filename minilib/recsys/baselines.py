"""Baselines of the multi-task recommendation chapters: the shared-bottom model and the
multi-gate mixture of experts (MMoE).

Both read the flattened embedding ``E (B, n_slots * d)`` of
:class:`~minilib.recsys.layers.FeatureEmbedding` and return ``(B, n_tasks)`` logits.

Used by the PEPNet chapter.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import MultiTaskModel, Tower, mlp
from .spec import FeatureSpec

__all__ = ["MMoE", "SharedBottom"]


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
