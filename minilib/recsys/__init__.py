"""Recommendation: the KuaiRand feature pipeline, the shared layers and baselines, the
papers' models (PEPNet; TWIN, TWIN-V2 and Pyramid Mixer to come), and multi-task
training and evaluation.

Shared: :mod:`.spec` (the batch contract), :mod:`.features` (vocabularies, causal
features, time split), :mod:`.kuairand` (the pipeline), :mod:`.batches`,
:mod:`.layers`, :mod:`.baselines`, :mod:`.multitask`; :mod:`.testing` makes synthetic
batches for tests. Papers: :mod:`.pepnet`.
"""

from .baselines import DIN, MMoE, SharedBottom, TargetAttention
from .batches import Prepared, TensorBatches
from .features import Normalizer, Vocab, causal_counts, causal_history, time_split
from .kuairand import build_kuairand, prepare_kuairand
from .layers import FeatureEmbedding
from .multitask import (
    evaluate,
    mean_cell_auc,
    multitask_loss,
    predict,
    throughput,
    train_multitask,
)
from .pepnet import EPNet, GateNU, PEPNet, PPNet, gate_values
from .spec import BATCH_KEYS, FeatureSpec

__all__ = [
    "BATCH_KEYS",
    "DIN",
    "EPNet",
    "FeatureEmbedding",
    "FeatureSpec",
    "GateNU",
    "MMoE",
    "Normalizer",
    "PEPNet",
    "PPNet",
    "Prepared",
    "SharedBottom",
    "TargetAttention",
    "TensorBatches",
    "Vocab",
    "build_kuairand",
    "causal_counts",
    "causal_history",
    "evaluate",
    "gate_values",
    "mean_cell_auc",
    "multitask_loss",
    "predict",
    "prepare_kuairand",
    "throughput",
    "time_split",
    "train_multitask",
]
