"""Small convolutional building blocks, sized for a 2-core CPU at the ci scale and
widened at full scale.

Used by the two-shot VOS chapter; written for the later vision chapters too.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


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
