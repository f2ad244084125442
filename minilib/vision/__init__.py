"""Vision helpers: image IO and augmentation (Pillow + torch), small conv encoders, a
space-time memory network for video object segmentation with its inference loop, and the
two-shot training recipe. Used by the two-shot VOS chapter; the IO and encoders are
meant for the later vision chapters too.
"""

from .encoders import (
    ConvBlock,
    ConvEncoder,
    EfficientNetLite0Encoder,
    PretrainedWeightsError,
    ResBlock,
    efficientnet_lite0,
)
from .io import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    colour_jitter,
    downsample_masks,
    random_affine,
    resize_frames,
    resize_masks,
    to_image,
    to_tensor,
    upsample_probs,
)
from .stm import STM, Decoder, memory_read, propagate
from .vos import (
    TrainLog,
    TrainVideo,
    bootstrapped_bce,
    confidence_mask,
    ema_update,
    evaluate_sequence,
    label_quality,
    mean_teacher,
    nearest_labeled,
    override_labels,
    pseudo_label_bank,
    sample_clips,
    train_vos,
)

__all__ = [
    "ConvBlock",
    "ConvEncoder",
    "Decoder",
    "EfficientNetLite0Encoder",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PretrainedWeightsError",
    "ResBlock",
    "STM",
    "TrainLog",
    "TrainVideo",
    "bootstrapped_bce",
    "colour_jitter",
    "confidence_mask",
    "downsample_masks",
    "efficientnet_lite0",
    "ema_update",
    "evaluate_sequence",
    "label_quality",
    "mean_teacher",
    "memory_read",
    "nearest_labeled",
    "override_labels",
    "propagate",
    "pseudo_label_bank",
    "random_affine",
    "resize_frames",
    "resize_masks",
    "sample_clips",
    "to_image",
    "to_tensor",
    "train_vos",
    "upsample_probs",
]
