"""PEPNet: Parameter and Embedding Personalized Network.

J. Chang, C. Zhang, Y. Hui, D. Leng, Y. Niu, Y. Song, K. Gai, "PEPNet: Parameter and
Embedding Personalized Network for Infusing with Personalized Prior Information",
KDD 2023, arXiv:2302.01115.

From the paper to the code (notation: ``E`` the general input embedding, ``(+)``
concatenation, ``sg(.)`` the stop-gradient, written with an empty-set sign in the paper,
``*`` the elementwise product; ``F_d`` the domain-side features, ``F_u, F_i, F_a`` the
user, item and author ids). The paper's equations are cited by their content, in its
order:

==============================================================  ======================
paper                                                           code
==============================================================  ======================
Gate NU: ``x' = ReLU(x W + b)``, ``delta = gamma sigmoid(x' W'   :class:`GateNU`
+ b')``, ``gamma = 2``
EPNet: ``delta_domain = U_ep(E(F_d) (+) sg(E))`` :meth:`Personalised.ep_gate` EPNet:
``O_ep = delta_domain * E`` :meth:`Personalised._forward` PPNet: ``O_prior = E(F_u) (+)
E(F_i) (+) E(F_a)``, :meth:`Personalised.pp_gate` ``delta_task = U_pp(O_prior (+)
sg(O_ep))`` PPNet: ``H_{l+1} = f((delta_task^l * H_l) W_l + b_l)`` per
:class:`~minilib.recsys.layers.Tower` task tower the three variants of the ablation
:class:`EPNet`,
                                                                :class:`PPNet`,
                                                                :class:`PEPNet`
==============================================================  ======================

:func:`gate_values` lays the learned gates out per domain for the chapter's figures.

Used by the PEPNet chapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..train import to_device
from .batches import n_rows, rows, to_numpy
from .layers import MultiTaskModel, Tower
from .spec import FeatureSpec

__all__ = ["EPNet", "GateNU", "PEPNet", "PPNet", "Personalised", "gate_values"]

Batch = Mapping[str, torch.Tensor]


class GateNU(nn.Module):
    """The Gate Neural Unit of PEPNet: a two-layer MLP whose output is a scaling weight
    in ``[0, gamma]``.

    ``x: (B, in_dim) -> delta: (B, out_dim)``. With ``gamma = 2`` (the paper's choice) a
    weight of 1 leaves the scaled quantity unchanged, < 1 damps it and > 1 amplifies it.

    Used by the PEPNet chapter.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, gamma: float = 2.0):
        super().__init__()
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.gamma = float(gamma)
        self.hidden = nn.Linear(in_dim, hidden)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.hidden(x))  # x' = ReLU(x W + b)
        # delta = gamma * sigmoid(x' W' + b')
        return self.gamma * torch.sigmoid(self.out(h))


class Personalised(MultiTaskModel):
    """EPNet and / or PPNet on top of the shared embedding; the subclasses switch the
    halves on.
    """

    use_ep = False
    use_pp = False

    def __init__(
        self,
        spec: FeatureSpec,
        d: int,
        tower: Sequence[int] = (64, 32),
        gate_hidden: int = 64,
        gamma: float = 2.0,
    ):
        super().__init__(spec, d)
        if self.use_pp and not len(tower):
            raise ValueError(
                "PPNet gates the hidden layers of the towers: tower must have at least "
                "one layer"
            )
        self.towers = nn.ModuleList(Tower(self.in_dim, tower) for _ in spec.tasks)
        if self.use_ep:
            self.domain_slots = self.embedding.slot_index(spec.domain_side_fields)
            # delta_domain: one value per slot, broadcast over the d dimensions of that
            # slot.
            self.ep_gate_nu = GateNU(
                len(self.domain_slots) * d + self.in_dim,
                self.n_slots,
                gate_hidden,
                gamma,
            )
        if self.use_pp:
            self.prior_slots = self.embedding.slot_index(spec.prior_fields)
            self.pp_width = sum(self.towers[0].gate_widths)
            in_dim = len(self.prior_slots) * d + self.in_dim
            self.pp_gate_nus = nn.ModuleList(
                GateNU(in_dim, self.pp_width, gate_hidden, gamma) for _ in spec.tasks
            )

    def ep_gate(self, E: torch.Tensor, E_domain: torch.Tensor) -> torch.Tensor:
        """EPNet's ``delta_domain (B, n_slots)`` from ``E (B, n_slots, d)`` and the
        domain-side embeddings ``E_domain (B, n_domain_side, d)``; gradients flow back
        through ``E_domain`` only.
        """
        # E(F_d) (+) sg(E)
        x = torch.cat([E_domain.flatten(1), E.detach().flatten(1)], dim=1)
        return self.ep_gate_nu(x)  # delta_domain = U_ep(E(F_d) (+) sg(E))

    def pp_gate(self, E_prior: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
        """PPNet's ``delta_task (B, n_tasks, pp_width)`` from the prior embeddings
        ``E_prior (B, n_prior, d)`` and the towers' input embedding ``O (B, n_slots,
        d)`` (``O_ep`` in PEPNet, ``E`` in PPNet alone); gradients flow back through
        ``E_prior`` only.
        """
        # O_prior (+) sg(O_ep)
        x = torch.cat([E_prior.flatten(1), O.detach().flatten(1)], dim=1)
        # delta_task = U_pp(O_prior (+) sg(O_ep))
        return torch.stack([g(x) for g in self.pp_gate_nus], dim=1)

    def _forward(self, batch):
        E = self.embedding(batch)  # (B, n_slots, d)
        gates: dict[str, torch.Tensor] = {}
        O = E
        if self.use_ep:
            delta_domain = self.ep_gate(E, E[:, self.domain_slots])  # (B, n_slots)
            O = delta_domain.unsqueeze(-1) * E  # O_ep = delta_domain * E
            gates["ep"] = delta_domain
        delta_task = None
        if self.use_pp:
            # O_prior = E(F_u) (+) E(F_i) (+) E(F_a)
            delta_task = self.pp_gate(E[:, self.prior_slots], O)
            gates["pp"] = delta_task
        h = O.flatten(1)  # H_0: (B, n_slots * d)
        logits = torch.stack(
            [
                tower(h, None if delta_task is None else delta_task[:, t])
                for t, tower in enumerate(self.towers)
            ],
            dim=1,
        )
        return logits, gates


class EPNet(Personalised):
    """EPNet only: embedding personalisation, then plain per-task towers.

    ``delta_domain = GateNU(E(domain-side fields) (+) stop_grad(E))`` gives one weight
    in ``[0, gamma]`` per embedding slot, ``(B, n_slots)`` (broadcast over the ``d``
    dimensions of the slot: the gate selects and re-weights whole features per domain);
    ``O_ep = delta_domain * E`` (B, n_slots, d) is flattened and fed to one MLP tower
    per task -> logits ``(B, n_tasks)``. The domain-side fields are
    ``spec.domain_side_fields``; the stop-gradient keeps the gate from pulling on the
    embeddings of all features (only the domain-side embeddings learn from the gate).
    ``return_gates`` gives ``{"ep": (B, n_slots)}``.

    Used by the PEPNet chapter.
    """

    use_ep = True


class PPNet(Personalised):
    """PPNet only: parameter personalisation of the per-task towers, on the plain
    embedding ``E``.

    For every task ``t``: ``delta_task_t = GateNU_t(E(prior fields) (+) stop_grad(E))``
    of width ``pp_width = n_slots * d + sum(tower[:-1])``, split into one slice per
    hidden-layer input of tower ``t``; ``H_{l+1} = ReLU((delta_task_t^l * H_l) W_l +
    b_l)`` with ``H_0 = E`` flattened (B, n_slots * d). The prior fields are
    ``spec.prior_fields`` (user, video, author ids). ``return_gates`` gives ``{"pp": (B,
    n_tasks, pp_width)}``.

    Used by the PEPNet chapter.
    """

    use_pp = True


class PEPNet(Personalised):
    """PEPNet: EPNet then PPNet.

    ``delta_domain = GateNU(E(domain-side) (+) stop_grad(E))`` (B, n_slots), ``O_ep =
    delta_domain * E`` (B, n_slots, d); ``delta_task_t = GateNU_t(E(priors) (+)
    stop_grad(O_ep))`` (B, pp_width) scales the input of every hidden layer of the tower
    of task ``t``, whose input is ``O_ep`` flattened -> logits ``(B, n_tasks)``. The
    stop-gradients sit where the paper puts them: the EPNet gate does not train ``E``
    through its copy of ``E``, and the PPNet gate does not train EPNet through ``O_ep``.
    ``return_gates`` gives ``{"ep": (B, n_slots), "pp": (B, n_tasks, pp_width)}``.

    Used by the PEPNet chapter.
    """

    use_ep = True
    use_pp = True


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
    n = n_rows(batch)
    sample = np.arange(n)
    if max_samples is not None and n > max_samples:
        sample = np.sort(
            np.random.default_rng(seed).choice(n, max_samples, replace=False)
        )
    sub = rows(batch, torch.from_numpy(sample))
    device = next(model.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(sample), batch_size):
        _, gates = model(
            to_device(rows(sub, slice(i, i + batch_size)), device), return_gates=True
        )
        for key in ("ep", "pp"):
            if key in gates:
                parts.setdefault(key, []).append(gates[key].float().cpu())
    dom_codes = to_numpy(sub["domain"]).astype(np.int64)
    d = model.embedding.d
    widths = model.towers[0].gate_widths
    layer_names = ["embedding", "input"] + [f"hidden{i}" for i in range(1, len(widths))]
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("gate", "task", "layer", "slot", "unit", "domain", "row", "value")
    }

    # codes of one value per (sample, unit)
    def add(gate, task, layer, slot, unit, per_sample, values):
        S = len(sample)
        for key, col in (
            ("gate", np.full(S * per_sample, gate)),
            ("task", np.tile(task, S)),
            ("layer", np.tile(layer, S)),
            ("slot", np.tile(slot, S)),
            ("unit", np.tile(unit, S)),
            ("domain", np.repeat(dom_codes, per_sample)),
            ("row", np.repeat(sample, per_sample)),
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
