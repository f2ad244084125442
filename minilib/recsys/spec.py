"""The contract between the recommendation data pipeline and the models: what a batch
holds.

A batch is a ``dict`` of tensors (all with the same first dimension B):

- ``"sparse"``: int64 (B, n_sparse), categorical features as vocabulary indices, column
  order ``spec.sparse``; index 0 is the out-of-vocabulary / missing bucket of every
  field;
- ``"dense"``: float32 (B, n_dense), numeric features normalised on the training split,
  order ``spec.dense``;
- ``"history"``: int64 (B, L), the user's previous impressions (indices in the
  vocabulary of ``spec.history_field``), oldest first and right-aligned, 0 = padding;
  only impressions strictly earlier than the target impression are ever included;
- ``"domain"``: int64 (B,), the domain index (0 .. len(spec.domains) - 1);
- ``"labels"``: float32 (B, n_tasks), order ``spec.tasks``; ``"label_mask"``: float32
  (B, n_tasks), 1 where the label is observed (0 entries are ignored by the loss and the
  metrics);
- ``"user"``: int64 (B,), the raw user id (groups for GAUC, never a model input by
  itself).

Used by the PEPNet chapter and the long-sequence chapters (TWIN, TWIN-V2, Pyramid
Mixer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BATCH_KEYS = ("sparse", "dense", "history", "domain", "labels", "label_mask", "user")


@dataclass(frozen=True)
class FeatureSpec:
    """Names and sizes of everything in a batch.

    ``vocab_sizes[f]`` counts index 0 (OOV) too, so an embedding table for ``f`` has
    ``vocab_sizes[f]`` rows. ``prior_fields`` are the personal priors PEPNet's PPNet
    gate reads (user, item, author ids); ``domain_side_fields`` are the features EPNet's
    gate reads (the domain id and domain-level features).
    """

    sparse: tuple[str, ...]
    vocab_sizes: dict[str, int]
    dense: tuple[str, ...]
    history_field: str
    history_len: int
    domain_field: str
    domains: tuple[str, ...]
    tasks: tuple[str, ...]
    prior_fields: tuple[str, ...] = ("user_id", "video_id", "author_id")
    domain_side_fields: tuple[str, ...] = ("domain",)
    notes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        missing = [f for f in self.sparse if f not in self.vocab_sizes]
        if missing:
            raise ValueError(f"no vocabulary size for sparse fields {missing}")
        for name, group in (
            ("prior_fields", self.prior_fields),
            ("domain_side_fields", self.domain_side_fields),
            ("history_field", (self.history_field,)),
            ("domain_field", (self.domain_field,)),
        ):
            unknown = [f for f in group if f not in self.sparse]
            if unknown:
                raise ValueError(
                    f"{name} {unknown} are not sparse fields {list(self.sparse)}"
                )

    def index(self, field_name: str) -> int:
        """Column of ``field_name`` in ``batch["sparse"]``."""
        return self.sparse.index(field_name)
