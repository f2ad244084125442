"""A space-time memory network for video object segmentation, in the style of STM /
STCN, and its inference loop.

Notation (as in the chapter): a frame is encoded once into a *key* ``k`` (``C_k``
channels at stride ``s``) and image features; a frame with a mask is further encoded
into a *value* ``v`` (``C_v`` channels). A query frame reads the memory by affinity
between its key and every memory key,

    W_ij = softmax_i( (2 k_i . q_j - ||k_i||^2) / sqrt(C_k) )
    r_j  = sum_i W_ij v_i,

(the negative squared L2 distance; ||q_j||^2 drops out of the softmax),

and a decoder turns the read-out ``r`` (with the query's own features and skip
connections) into mask logits.

Used by the two-shot VOS chapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .encoders import ConvBlock, ConvEncoder, ResBlock


def memory_read(
    mem_key: torch.Tensor,
    mem_value: torch.Tensor,
    query_key: torch.Tensor,
    top_k: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a key-value memory by the L2 affinity of STCN.

    Args:
        mem_key: ``(B, C_k, M)`` keys of the M memory locations (all memory frames'
            pixels).
        mem_value: ``(B, C_v, M)`` their values.
        query_key: ``(B, C_k, N)`` keys of the N query locations.
        top_k: keep only the k largest affinities per query location before the softmax
            (STCN's inference trick); ``None`` keeps all.

    Returns:
        ``(readout, weights)``: readout ``(B, C_v, N)`` and the affinity weights ``(B,
            M, N)`` (each column sums to 1 over the memory).
    """
    if mem_key.ndim != 3 or mem_value.ndim != 3 or query_key.ndim != 3:
        raise ValueError(
            "memory_read expects (B, C_k, M), (B, C_v, M) and (B, C_k, N) tensors; got "
            f"{tuple(mem_key.shape)}, {tuple(mem_value.shape)}, "
            f"{tuple(query_key.shape)}"
        )
    b, ck, m = mem_key.shape
    if mem_value.shape[0] != b or mem_value.shape[2] != m:
        raise ValueError(
            f"mem_value {tuple(mem_value.shape)} does not match mem_key "
            f"{tuple(mem_key.shape)}"
        )
    if query_key.shape[:2] != (b, ck):
        raise ValueError(
            f"query_key {tuple(query_key.shape)} does not match mem_key "
            f"{tuple(mem_key.shape)}"
        )
    logits = (
        2 * mem_key.transpose(1, 2) @ query_key - mem_key.pow(2).sum(1).unsqueeze(2)
    ) / math.sqrt(ck)
    if top_k is not None and top_k < m:
        vals, idx = logits.topk(top_k, dim=1)
        weights = torch.zeros_like(logits).scatter_(1, idx, torch.softmax(vals, dim=1))
    else:
        weights = torch.softmax(logits, dim=1)
    return mem_value @ weights, weights


class Decoder(nn.Module):
    """Read-out and query features -> mask logits at the input resolution.

    ``forward(readout, feats)``: readout ``(B, C_v, h, w)`` at the coarsest stride,
    ``feats`` the query's encoder outputs (finest first, the last one at the readout's
    stride); returns logits ``(B, 1, H, W)``.
    """

    def __init__(self, value_dim: int, widths: Sequence[int], hidden: int):
        super().__init__()
        self.fuse = nn.Sequential(
            ConvBlock(value_dim + widths[-1], hidden), ResBlock(hidden)
        )
        self.skips = nn.ModuleList(
            [nn.Conv2d(w, hidden, 1) for w in reversed(widths[:-1])]
        )
        self.refine = nn.ModuleList([ConvBlock(hidden, hidden) for _ in widths[:-1]])
        self.out = nn.Conv2d(hidden, 1, 3, padding=1)

    def forward(
        self, readout: torch.Tensor, feats: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        x = self.fuse(torch.cat([readout, feats[-1]], dim=1))
        for skip, refine, f in zip(
            self.skips, self.refine, reversed(feats[:-1]), strict=True
        ):
            x = F.interpolate(
                x, size=f.shape[-2:], mode="bilinear", align_corners=False
            )
            x = refine(x + skip(f))
        x = self.out(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class STM(nn.Module):
    """A small space-time memory network for one object.

    - key encoder: :class:`ConvEncoder` on the RGB frame; its coarsest output is
      projected to the key (``key_dim`` channels at stride ``2 ** len(widths)``); all
      outputs serve as the decoder's skips;
    - value encoder: a lighter encoder on the mask, fused with the frame's coarsest
      features (as STCN reuses the key encoder's features) into the value (``value_dim``
      channels);
    - :func:`memory_read` and a :class:`Decoder` with skip connections.

    Frames are ``(B, 3, H, W)`` normalised (see :func:`minilib.vision.to_tensor`) with
    H, W divisible by :attr:`stride`; masks are ``(B, 1, H, W)`` foreground
    probabilities.
    """

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64),
        key_dim: int = 32,
        value_dim: int = 64,
        mask_widths: Sequence[int] | None = None,
        hidden: int | None = None,
        mask_value: bool = True,
        key_cues: bool = True,
    ):
        super().__init__()
        self.mask_value = bool(mask_value)
        self.key_cues = bool(key_cues)
        # weights of the two fixed cues appended to the key: position (in feature cells)
        # and mean colour
        self.log_position_weight = nn.Parameter(
            torch.tensor(math.log(0.25 * key_dim**0.25))
        )
        self.log_colour_weight = nn.Parameter(torch.tensor(0.0))
        # logits = decoder output + a * (read-out mask - 1/2): the propagated mask,
        # which the decoder corrects
        self.mask_gain = nn.Parameter(
            torch.tensor(10.0 if self.mask_value else 0.0),
            requires_grad=self.mask_value,
        )
        widths = tuple(int(w) for w in widths)
        mask_widths = tuple(mask_widths or [max(4, w // 2) for w in widths])
        if len(mask_widths) != len(widths):
            raise ValueError(
                f"mask_widths {mask_widths} must have as many stages as widths {widths}"
            )
        self.widths, self.key_dim, self.value_dim = widths, key_dim, value_dim
        self.encoder = ConvEncoder(3, widths)
        self.key_proj = nn.Conv2d(widths[-1], key_dim, 1)
        self.mask_encoder = ConvEncoder(1, mask_widths)
        self.value_fuse = nn.Sequential(
            ConvBlock(widths[-1] + mask_widths[-1], value_dim), ResBlock(value_dim)
        )
        self.decoder = Decoder(
            value_dim + self.mask_value, widths, hidden or widths[-1]
        )

    @property
    def stride(self) -> int:
        return self.encoder.stride

    def encode_key(
        self, frames: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(B, 3, H, W)`` -> key ``(B, C_k (+ 5), H/s, W/s)`` and the encoder outputs
        (finest first).

        With ``key_cues`` the learned key gets five more channels: the cell's position
        ``(x, y)`` in cells and its mean colour, each times a learned weight. In the L2
        affinity the position channels add ``-lambda^2 ||p_i - p_j||^2``: a Gaussian
        prior that favours memory cells near the query cell, which a small network
        trained for minutes from scratch cannot learn from appearance alone.
        """
        feats = self.encoder(frames)
        key = self.key_proj(feats[-1])
        if not self.key_cues:
            return key, feats
        b, _, h, w = key.shape
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=key.dtype, device=key.device),
            torch.arange(w, dtype=key.dtype, device=key.device),
            indexing="ij",
        )
        pos = torch.stack([xs, ys]).expand(b, 2, h, w) * self.log_position_weight.exp()
        colour = F.adaptive_avg_pool2d(frames, (h, w)) * self.log_colour_weight.exp()
        return torch.cat([key, pos, colour], dim=1), feats

    def encode_value(
        self, frame_feat: torch.Tensor, masks: torch.Tensor
    ) -> torch.Tensor:
        """Coarsest frame features ``(B, C, h, w)`` and masks ``(B, 1, H, W)`` -> value
        ``(B, C_v (+ 1), h, w)``.

        With ``mask_value`` the mask itself, averaged down to ``(h, w)``, is appended as
        one more value channel: its read-out is the mask carried over from the memory by
        the affinity (label propagation), which the decoder then refines.
        """
        m = self.mask_encoder(masks)[-1]
        value = self.value_fuse(torch.cat([frame_feat, m], dim=1))
        if self.mask_value:
            value = torch.cat(
                [value, F.adaptive_avg_pool2d(masks, value.shape[-2:])], dim=1
            )
        return value

    def segment(
        self,
        mem_key: torch.Tensor,
        mem_value: torch.Tensor,
        key: torch.Tensor,
        feats: Sequence[torch.Tensor],
        top_k: int | None = None,
    ) -> torch.Tensor:
        """Mask logits ``(B, 1, H, W)`` of a query frame.

        ``mem_key`` ``(B, C_k, M)`` and ``mem_value`` ``(B, C_v, M)`` are the flattened
        memory; ``key`` ``(B, C_k, h, w)`` and ``feats`` come from :meth:`encode_key` of
        the query frame.
        """
        b, _, h, w = key.shape
        readout, _ = memory_read(mem_key, mem_value, key.flatten(2), top_k=top_k)
        readout = readout.view(b, -1, h, w)
        logits = self.decoder(readout, feats)
        if self.mask_value:
            carried = F.interpolate(
                readout[:, -1:],
                size=logits.shape[-2:],
                mode="bilinear",
                align_corners=False,
            )
            logits = logits + self.mask_gain * (carried - 0.5)
        return logits

    def forward_clip(
        self, frames: torch.Tensor, first_mask: torch.Tensor
    ) -> torch.Tensor:
        """Training pass over clips: frame 0 with its mask is the memory; each later
        frame is segmented, and its predicted mask joins the memory for the next one (as
        STM and STCN train on frame triplets).

        Args:
            frames: ``(B, T, 3, H, W)``; first_mask: ``(B, 1, H, W)`` the mask of frame
                0.

        Returns:
            logits ``(B, T - 1, H, W)`` of frames 1..T-1.
        """
        b, t = frames.shape[:2]
        keys, feats = self.encode_key(frames.flatten(0, 1))
        keys = keys.view(b, t, *keys.shape[1:])
        feats = [f.view(b, t, *f.shape[1:]) for f in feats]
        mem_k = [keys[:, 0].flatten(2)]
        mem_v = [self.encode_value(feats[-1][:, 0], first_mask).flatten(2)]
        out = []
        for i in range(1, t):
            logits = self.segment(
                torch.cat(mem_k, 2),
                torch.cat(mem_v, 2),
                keys[:, i],
                [f[:, i] for f in feats],
            )
            out.append(logits[:, 0])
            if i < t - 1:
                mem_k.append(keys[:, i].flatten(2))
                mem_v.append(
                    self.encode_value(feats[-1][:, i], torch.sigmoid(logits)).flatten(2)
                )
        return torch.stack(out, dim=1)


@dataclass
class _Memory:
    keys: list[torch.Tensor]
    values: list[torch.Tensor]


@torch.no_grad()
def propagate(
    model: STM,
    frames: torch.Tensor,
    first_mask: torch.Tensor | np.ndarray,
    *,
    mem_every: int = 5,
    top_k: int | None = None,
    chunk: int = 16,
) -> torch.Tensor:
    """Segment a sequence from the mask of its first frame (the semi-supervised VOS
    protocol).

    The memory holds frame 0 with its given mask and every ``mem_every``-th frame with
    its predicted mask; the previous frame (with its prediction) is read as well, as a
    temporary memory entry (STM's "previous frame"). To propagate backwards, flip the
    frames: ``propagate(model, frames.flip(0), mask).flip(0)``.

    Args:
        model: an :class:`STM` (put in eval mode by the caller, or not: this function
            does not change it).
        frames: ``(T, 3, H, W)`` normalised frames.
        first_mask: ``(H, W)`` mask of frame 0 (probabilities or 0/1).
        mem_every: add a frame to the permanent memory every ``mem_every`` frames (>=
            1).
        top_k: see :func:`memory_read`.
        chunk: frames encoded per batch when computing the keys.

    Returns:
        ``(T, H, W)`` foreground probabilities; entry 0 is ``first_mask`` itself.
    """
    if mem_every < 1:
        raise ValueError(f"mem_every must be >= 1; got {mem_every}")
    if frames.ndim != 4:
        raise ValueError(f"frames must be (T, 3, H, W); got {tuple(frames.shape)}")
    first = (
        torch.as_tensor(np.asarray(first_mask, dtype=np.float32))
        if not torch.is_tensor(first_mask)
        else first_mask.float()
    )
    first = first.to(frames.device)
    if first.shape != frames.shape[-2:]:
        raise ValueError(
            f"first_mask {tuple(first.shape)} must match the frames' size "
            f"{tuple(frames.shape[-2:])}"
        )
    n = frames.shape[0]
    keys, feats = [], []
    for s in range(0, n, chunk):
        k, f = model.encode_key(frames[s : s + chunk])
        keys.append(k)
        feats.append(f)
    keys = torch.cat(keys)
    feats = [torch.cat([f[i] for f in feats]) for i in range(len(feats[0]))]
    probs = torch.empty(n, *frames.shape[-2:], device=frames.device)
    probs[0] = first
    memory = _Memory(
        [keys[0:1].flatten(2)],
        [model.encode_value(feats[-1][0:1], first[None, None]).flatten(2)],
    )
    previous: tuple[torch.Tensor, torch.Tensor] | None = None
    for t in range(1, n):
        mk, mv = list(memory.keys), list(memory.values)
        if previous is not None:
            mk.append(previous[0])
            mv.append(previous[1])
        logits = model.segment(
            torch.cat(mk, 2),
            torch.cat(mv, 2),
            keys[t : t + 1],
            [f[t : t + 1] for f in feats],
            top_k=top_k,
        )
        p = torch.sigmoid(logits)
        probs[t] = p[0, 0]
        if t == n - 1:
            break
        entry = (
            keys[t : t + 1].flatten(2),
            model.encode_value(feats[-1][t : t + 1], p).flatten(2),
        )
        if t % mem_every == 0:
            memory.keys.append(entry[0])
            memory.values.append(entry[1])
            previous = None
        else:
            previous = entry
    return probs
