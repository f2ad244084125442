"""Multi-task, multi-domain ranking models of the PEPNet chapter (PEPNet, KDD 2023,
arXiv 2302.01115).

Every model reads a batch as described in :mod:`minilib.recsys.spec`, embeds it with one
shared :class:`FeatureEmbedding` design and returns one logit per task::

    model = PEPNet(spec, d=8)
    logits = model(batch)                  # (B, n_tasks)
    logits, gates = model(batch, return_gates=True)
    gates["ep"]      # (B, n_slots)    EPNet gate, one value per embedding slot
    gates["pp"]      # (B, n_tasks, W) PPNet gate of every task tower

The baselines are :class:`SharedBottom` and :class:`MMoE`; the personalised models are
:class:`EPNet` (embedding personalisation only), :class:`PPNet` (parameter
personalisation only) and :class:`PEPNet` (both). Their gates are :class:`GateNU` units,
whose outputs lie in ``[0, gamma]`` (``[0, 2]`` in the paper).

Notation of the paper used in comments: ``E`` the general input embedding, ``(+)``
concatenation, ``sg(.)`` the stop-gradient operator (written with an empty-set sign in
the paper), ``*`` the elementwise product, ``F_d`` the domain-side features, ``F_u, F_i,
F_a`` the user, item and author ids.

:func:`synthetic_spec` and :func:`synthetic_batch` make small batches that follow the
batch contract, with labels that the models can learn; the tests and smoke runs use them
instead of real data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from minilib.recsys.spec import FeatureSpec

__all__ = [
    "EMBEDDING_INIT_STD",
    "EPNet",
    "FeatureEmbedding",
    "GateNU",
    "MMoE",
    "PEPNet",
    "PPNet",
    "SharedBottom",
    "synthetic_batch",
    "synthetic_spec",
]

Batch = Mapping[str, torch.Tensor]

#: Standard deviation of the normal initialisation of every embedding row and dense
#: projection weight.
EMBEDDING_INIT_STD = 0.05

HISTORY_SLOT = "history"


# --------------------------------------------------------------------------------------
# Embedding layer shared by all models
# --------------------------------------------------------------------------------------


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

    def history(self, batch: Batch) -> torch.Tensor:
        """Mean-pooled history embedding (B, d), padding (index 0) masked out, zeros for
        empty histories.
        """
        hist = batch["history"]
        table = self.tables[self._history_col]
        mask = (hist != 0).unsqueeze(-1).to(table.weight.dtype)  # (B, L, 1)
        summed = (table(hist) * mask).sum(dim=1)  # (B, d)
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


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


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


def _mlp(in_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """Linear + ReLU layers of widths ``hidden``; the identity when ``hidden`` is
    empty.
    """
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    return nn.Sequential(*layers)


class _Tower(nn.Module):
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


class _MultiTaskModel(nn.Module):
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


# --------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------


class SharedBottom(_MultiTaskModel):
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
        self.bottom = _mlp(self.in_dim, bottom)
        top_in = bottom[-1] if len(bottom) else self.in_dim
        self.towers = nn.ModuleList(_Tower(top_in, tower) for _ in spec.tasks)

    def _forward(self, batch):
        shared = self.bottom(self.embedding(batch).flatten(1))  # (B, bottom[-1])
        return torch.stack([t(shared) for t in self.towers], dim=1), {}


class MMoE(_MultiTaskModel):
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
        self.experts = nn.ModuleList(
            _mlp(self.in_dim, expert) for _ in range(n_experts)
        )
        self.gates = nn.ModuleList(
            nn.Linear(self.in_dim, n_experts) for _ in spec.tasks
        )
        self.towers = nn.ModuleList(_Tower(expert[-1], tower) for _ in spec.tasks)

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


# --------------------------------------------------------------------------------------
# PEPNet and its halves
# --------------------------------------------------------------------------------------


class _Personalised(_MultiTaskModel):
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
        self.towers = nn.ModuleList(_Tower(self.in_dim, tower) for _ in spec.tasks)
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


class EPNet(_Personalised):
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


class PPNet(_Personalised):
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


class PEPNet(_Personalised):
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


# --------------------------------------------------------------------------------------
# Synthetic data following the batch contract
# --------------------------------------------------------------------------------------


def synthetic_spec(
    *,
    n_users: int = 50,
    n_videos: int = 200,
    n_authors: int = 40,
    n_other_sparse: int = 3,
    other_vocab: int = 10,
    n_dense: int = 2,
    history_len: int = 8,
    domains: Sequence[str] = ("d0", "d1", "d2"),
    tasks: Sequence[str] = ("click", "like"),
) -> FeatureSpec:
    """A :class:`~minilib.recsys.spec.FeatureSpec` with the fields PEPNet needs.

    Sparse fields ``user_id, video_id, author_id, domain, f0, f1, ...`` (vocabulary
    sizes count the OOV index 0: ``n_users + 1`` rows for the users, ``len(domains) +
    1`` for the domain), dense fields ``x0, x1, ...``, history over ``video_id``.

    Used by the PEPNet chapter (tests and smoke runs).
    """
    others = tuple(f"f{i}" for i in range(n_other_sparse))
    sparse = ("user_id", "video_id", "author_id", "domain", *others)
    vocab = {
        "user_id": n_users + 1,
        "video_id": n_videos + 1,
        "author_id": n_authors + 1,
        "domain": len(domains) + 1,
        **{f: other_vocab + 1 for f in others},
    }
    return FeatureSpec(
        sparse=sparse,
        vocab_sizes=vocab,
        dense=tuple(f"x{i}" for i in range(n_dense)),
        history_field="video_id",
        history_len=history_len,
        domain_field="domain",
        domains=tuple(domains),
        tasks=tuple(tasks),
        notes={"source": "synthetic_spec"},
    )


def synthetic_batch(
    spec: FeatureSpec,
    n: int,
    seed: int = 0,
    *,
    signal_field: str | None = None,
    world_seed: int = 0,
    observed: float = 0.8,
    oov_rate: float = 0.02,
) -> dict[str, torch.Tensor]:
    """A batch of ``n`` random impressions following the contract of
    :mod:`minilib.recsys.spec`.

    Sparse indices are uniform over ``1 .. vocab - 1`` with a fraction ``oov_rate`` set
    to the OOV index 0; the domain is uniform and written both to ``batch["domain"]``
    (0-based) and to the domain field's column (``domain + 1``, 0 being OOV); dense
    features are standard normal; histories have a random length in ``0 ..
    spec.history_len``, right-aligned after 0-padding. ``batch["user"]`` is the user
    field's index. Labels are learnable: for task ``t`` and domain ``k``, ``P(y = 1) =
    sigmoid(scale_k * score_t[v] + offset_{t,k} + 0.5 x_0)``, where ``v`` is the value
    of ``signal_field`` (default: the non-domain sparse field with the smallest
    vocabulary) and the scores, scales and offsets are fixed by ``world_seed`` (so
    batches of different ``seed`` share one "world"). Task 0 is always observed, the
    other tasks with probability ``observed`` (``label_mask``).

    Returns a dict with the keys of ``spec.BATCH_KEYS``: sparse (n, n_sparse) int64,
    dense (n, n_dense) float32, history (n, history_len) int64, domain (n,) int64,
    labels / label_mask (n, n_tasks) float32, user (n,) int64.

    Used by the PEPNet chapter (tests and smoke runs).
    """
    rng = np.random.default_rng(seed)
    world = np.random.default_rng(world_seed)
    n_dom, n_tasks = len(spec.domains), len(spec.tasks)
    sparse = np.stack(
        [rng.integers(1, max(spec.vocab_sizes[f], 2), n) for f in spec.sparse], axis=1
    )
    sparse[rng.random(sparse.shape) < oov_rate] = 0
    sparse = np.minimum(
        sparse, np.array([spec.vocab_sizes[f] - 1 for f in spec.sparse])
    )
    domain = rng.integers(0, n_dom, n)
    dom_col = spec.index(spec.domain_field)
    sparse[:, dom_col] = np.minimum(domain + 1, spec.vocab_sizes[spec.domain_field] - 1)
    dense = rng.standard_normal((n, len(spec.dense))).astype(np.float32)
    L = spec.history_len
    lengths = rng.integers(0, L + 1, n)
    history = rng.integers(1, max(spec.vocab_sizes[spec.history_field], 2), (n, L))
    # right-aligned, 0 = padding
    history[np.arange(L)[None, :] < (L - lengths)[:, None]] = 0
    if signal_field is None:
        candidates = [
            f
            for f in spec.sparse
            if f != spec.domain_field and f not in spec.domain_side_fields
        ]
        signal_field = min(
            candidates or list(spec.sparse), key=lambda f: spec.vocab_sizes[f]
        )
    vocab = spec.vocab_sizes[signal_field]
    score = world.standard_normal((n_tasks, vocab)) * 1.5
    scale = world.uniform(0.5, 2.0, n_dom)
    offset = world.normal(-0.5, 0.5, (n_tasks, n_dom))
    v = sparse[:, spec.index(signal_field)]
    logit = scale[domain][:, None] * score[:, v].T + offset[:, domain].T
    if len(spec.dense):
        logit = logit + 0.5 * dense[:, :1]
    labels = (rng.random((n, n_tasks)) < 1.0 / (1.0 + np.exp(-logit))).astype(
        np.float32
    )
    mask = (rng.random((n, n_tasks)) < observed).astype(np.float32)
    mask[:, 0] = 1.0
    # the user id field
    user_col = spec.index(spec.prior_fields[0]) if spec.prior_fields else 0
    return {
        "sparse": torch.from_numpy(sparse.astype(np.int64)),
        "dense": torch.from_numpy(dense),
        "history": torch.from_numpy(history.astype(np.int64)),
        "domain": torch.from_numpy(domain.astype(np.int64)),
        "labels": torch.from_numpy(labels),
        "label_mask": torch.from_numpy(mask),
        "user": torch.from_numpy(sparse[:, user_col].astype(np.int64)),
    }
