"""Vision: image IO and augmentation (Pillow + torch), image encoders
(EfficientNet-Lite0 pretrained on ImageNet, small conv nets), a space-time memory
network with its inference loop (shared: :mod:`.io`, :mod:`.encoders`, :mod:`.stm`), and
the two-shot VOS paper (:mod:`.two_shot`). Used by the two-shot VOS chapter; the IO and
encoders are meant for the later vision chapters too.
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
from .two_shot import (
    ClipSampler,
    TrainVideo,
    TwoShotLoss,
    bootstrapped_bce,
    confidence_mask,
    evaluate_sequence,
    label_quality,
    nearest_labeled,
    override_labels,
    pseudo_label_bank,
    sample_clips,
)

__all__ = [
    "ClipSampler",
    "ConvBlock",
    "ConvEncoder",
    "Decoder",
    "EfficientNetLite0Encoder",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PretrainedWeightsError",
    "ResBlock",
    "STM",
    "TrainVideo",
    "TwoShotLoss",
    "bootstrapped_bce",
    "colour_jitter",
    "confidence_mask",
    "downsample_masks",
    "efficientnet_lite0",
    "evaluate_sequence",
    "label_quality",
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
    "upsample_probs",
]
