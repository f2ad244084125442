"""Image IO and augmentation with Pillow and torch (torchvision is not used).

Frames travel as ``uint8`` arrays ``(T, H, W, 3)`` on disk and in numpy, and as
normalised ``float32`` tensors ``(T, 3, H, W)`` inside models. Augmentations act on a
batch of frames and their masks together with one random draw per frame from a
``torch.Generator``, so a run repeats exactly.

Images are read by the data layer (:func:`minilib.data.load_image` for COCO, the
sequence and face loaders for DAVIS and Yale), which checks every file against the
registry; this module takes over from the decoded pixels.

Used by the two-shot VOS chapter; written for the later vision chapters too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0
        for s in size
    ):
        raise ValueError(
            f"size must be (W, H) with two positive integers; got {size!r}"
        )
    return int(size[0]), int(size[1])


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(T, H, W, 3) uint8`` frames bilinearly to ``size=(W, H)``: ``(T, H', W',
    3) uint8``.
    """
    w, h = _check_size(size)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (T, H, W, 3) uint8; got {frames.shape} {frames.dtype}"
        )
    return np.stack(
        [
            np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.BILINEAR))
            for f in frames
        ]
    )


def resize_masks(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(T, H, W)`` integer masks with nearest neighbour to ``size=(W, H)``: ids
    are kept exactly.
    """
    w, h = _check_size(size)
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (T, H, W); got shape {masks.shape}")
    return np.stack(
        [
            np.asarray(
                Image.fromarray(m.astype(np.uint8)).resize(
                    (w, h), Image.Resampling.NEAREST
                )
            )
            for m in masks
        ]
    )


def downsample_masks(masks: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Binary masks ``(T, H, W)`` (0/1 or 0/255, any nonzero is foreground) -> ``(T, h,
    w)`` float32 in {0, 1} at ``size=(w, h)``: a pixel is foreground when at least half
    of the area it covers is (area averaging).
    """
    w, h = _check_size(size)
    m = torch.as_tensor((np.asarray(masks) > 0).astype(np.float32))
    if m.ndim != 3:
        raise ValueError(f"masks must be (T, H, W); got shape {tuple(m.shape)}")
    return (F.interpolate(m[:, None], size=(h, w), mode="area")[:, 0] >= 0.5).float()


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3) uint8`` (or one ``(H, W, 3)`` image) -> normalised ``(T, 3, H,
    W)`` (``(3, H, W)``) float32.

    Normalised with the ImageNet mean and standard deviation, the usual convention of
    conv encoders.
    """
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(
            f"expected (T, H, W, 3) or (H, W, 3) uint8 frames; got {arr.shape} "
            f"{arr.dtype}"
        )
    x = torch.from_numpy(np.ascontiguousarray(arr)).float().div_(255.0)
    x = x.movedim(-1, -3)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def to_image(x: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`to_tensor`: ``(..., 3, H, W)`` normalised float -> ``(..., H,
    W, 3) uint8``.
    """
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(3, 1, 1)
    img = (x.detach() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8)
    return img.movedim(-3, -1).cpu().numpy()


def upsample_probs(
    probs: torch.Tensor | np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Bilinear upsampling of ``(T, h, w)`` foreground probabilities to ``size=(W, H)``:
    ``(T, H, W)`` float32.

    Used to score low-resolution predictions against full-resolution masks.
    """
    w, h = _check_size(size)
    p = (
        probs.detach().float().cpu()
        if torch.is_tensor(probs)
        else torch.as_tensor(np.asarray(probs, np.float32))
    )
    if p.ndim != 3:
        raise ValueError(f"probs must be (T, h, w); got shape {tuple(p.shape)}")
    return F.interpolate(p[:, None], size=(h, w), mode="bilinear", align_corners=False)[
        :, 0
    ].numpy()


def random_affine(
    frames: torch.Tensor,
    masks: torch.Tensor,
    *,
    generator: torch.Generator,
    degrees: float = 15.0,
    scale: tuple[float, float] = (0.9, 1.1),
    translate: float = 0.05,
    shear: float = 5.0,
    flip: bool = True,
    groups: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random affine warp (rotation, scale, shift, shear, horizontal flip) per
    frame, applied to frame and mask.

    Args:
        frames: ``(N, C, H, W)`` float images (normalised; padding is 0, the mean
            colour).
        masks: ``(N, K, H, W)`` float maps warped the same way (labels in {0, 1},
            confidence, validity...).
        generator: the source of every random draw (a run repeats exactly).
        degrees, scale, translate, shear: ranges of the draws (``translate`` as a
            fraction of the size).
        flip: flip horizontally with probability 1/2.
        groups: consecutive frames that share one flip draw (the frames of a clip: a
            video is flipped as a whole, while each frame still gets its own small
            warp).

    Returns:
        ``(frames, masks, inside)``: the warped frames ``(N, C, H, W)``, masks ``(N, K,
            H, W)`` (bilinear; threshold label maps at 0.5) and ``inside`` ``(N, 1, H,
            W)``, 1 where the pixel came from inside the original frame.
    """
    if (
        frames.ndim != 4
        or masks.ndim != 4
        or frames.shape[0] != masks.shape[0]
        or frames.shape[2:] != masks.shape[2:]
    ):
        raise ValueError(
            "frames (N, C, H, W) and masks (N, K, H, W) must agree; got "
            f"{tuple(frames.shape)} and "
            f"{tuple(masks.shape)}"
        )
    n = frames.shape[0]
    if groups < 1 or n % groups:
        raise ValueError(f"{n} frames do not split into groups of {groups}")

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    angle = uniform(-degrees, degrees) * math.pi / 180
    sh = uniform(-shear, shear) * math.pi / 180
    s = uniform(*scale)
    tx, ty = uniform(-translate, translate) * 2, uniform(-translate, translate) * 2
    # draws stay on the CPU
    draws = torch.rand(n // groups, generator=generator).repeat_interleave(groups)
    sign = torch.where(draws < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coordinates to input coordinates (normalised [-1, 1]), as
    # affine_grid expects.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sign * cos / s
    theta[:, 0, 1] = (-sin + torch.tan(sh) * cos) / s
    theta[:, 1, 0] = sign * sin / s
    theta[:, 1, 1] = (cos + torch.tan(sh) * sin) / s
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(
        theta.to(frames.device, frames.dtype), list(frames.shape), align_corners=False
    )
    out_frames = F.grid_sample(
        frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    ones = torch.ones(n, 1, *frames.shape[2:], device=frames.device)
    stacked = torch.cat([masks, ones], dim=1)
    warped = F.grid_sample(
        stacked, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out_frames, warped[:, :-1], (warped[:, -1:] > 0.5).float()


def colour_jitter(
    frames: torch.Tensor,
    *,
    generator: torch.Generator,
    brightness: float = 0.2,
    contrast: float = 0.2,
    saturation: float = 0.2,
    groups: int | None = None,
) -> torch.Tensor:
    """Random brightness, contrast and saturation changes of normalised ``(N, 3, H, W)``
    frames.

    ``groups`` frames in a row share one draw (for example the three frames of a clip:
    ``groups=3``); by default every frame draws its own. Works in the normalised space
    by undoing and redoing the normalisation.
    """
    n = frames.shape[0]
    g = groups or 1
    if n % g:
        raise ValueError(f"{n} frames do not split into groups of {g}")
    draws = n // g

    def factor(amount: float) -> torch.Tensor:
        f = 1 + amount * (2 * torch.rand(draws, generator=generator) - 1)
        return f.repeat_interleave(g).view(n, 1, 1, 1).to(frames.device)

    mean = torch.tensor(IMAGENET_MEAN, device=frames.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=frames.device).view(1, 3, 1, 1)
    x = frames * std + mean
    x = x * factor(brightness)
    grey = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    x = (x - grey.mean(dim=(2, 3), keepdim=True)) * factor(contrast) + grey.mean(
        dim=(2, 3), keepdim=True
    )
    grey = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    x = (x - grey) * factor(saturation) + grey
    return (x.clamp(0, 1) - mean) / std
