"""Synthetic batches that follow the batch contract of :mod:`minilib.recsys.spec`, with
labels a model can learn: for tests and smoke runs, never for a chapter's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .spec import FeatureSpec

__all__ = ["synthetic_batch", "synthetic_spec"]


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
