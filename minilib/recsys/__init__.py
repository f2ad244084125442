"""Recommendation on KuaiRand: the feature pipeline, multi-task models (shared-bottom,
MMoE, EPNet, PPNet, PEPNet) and their training and evaluation. Used by the PEPNet
chapter and, later, TWIN, TWIN-V2 and Pyramid Mixer.
"""

from .features import (
    Normalizer,
    Prepared,
    Vocab,
    build_kuairand,
    causal_history,
    kuairand,
    time_split,
)
from .models import EPNet, FeatureEmbedding, GateNU, MMoE, PEPNet, PPNet, SharedBottom
from .multitask import (
    evaluate,
    gate_values,
    multitask_loss,
    predict,
    throughput,
    train_multitask,
)
from .spec import BATCH_KEYS, FeatureSpec

__all__ = [
    "BATCH_KEYS",
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
    "Vocab",
    "build_kuairand",
    "causal_history",
    "evaluate",
    "gate_values",
    "kuairand",
    "multitask_loss",
    "predict",
    "throughput",
    "time_split",
    "train_multitask",
]
