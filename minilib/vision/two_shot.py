"""Two-shot video object segmentation: a memory network trained on two labeled frames
per video, with a mean teacher and a pseudo-label bank.

K. Yan, X. Li, F. Wei, J. Wang, C. Zhang, P. Wang, Y. Lu, "Two-shot Video Object
Segmentation", CVPR 2023, arXiv:2303.12078.

The recipe in the terms of this module (the paper's steps, by their content):

=========================================================  ============================
paper code =========================================================
============================ training clips of three frames, STCN's bootstrapped
:class:`ClipSampler`, cross-entropy on the predicted frames :func:`bootstrapped_bce`
naive two-shot: clips from the labeled frames only ``ClipSampler(mode="labeled")`` phase
1: clips start at a labeled frame; an unlabeled ``ClipSampler(mode="semi")``, frame is
supervised by the EMA teacher where it is ``TwoShotLoss(teacher=...)``, confident
:func:`confidence_mask`,
                                                           :class:`~minilib.train.EMATeacher`
pseudo-label bank: each unlabeled frame takes the :func:`pseudo_label_bank`, propagation
from its nearest labeled frame :func:`nearest_labeled` phase 2: any frame starts a clip;
confident predictions ``ClipSampler(mode="all")``, override the bank late in training
``TwoShotLoss(override_after=...)``,
                                                           :func:`override_labels`
the DAVIS semi-supervised evaluation                       :func:`evaluate_sequence`
=========================================================  ============================

Training itself is the book's one loop, :func:`minilib.train.fit`: a
:class:`ClipSampler` yields the batches, a :class:`TwoShotLoss` computes the loss of one
batch, and the learning-rate schedule and the mean teacher are callbacks.

Used by the two-shot VOS chapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics import j_and_f, jaccard
from .io import colour_jitter, downsample_masks, random_affine, upsample_probs
from .stm import STM, propagate

__all__ = [
    "MODES",
    "ClipSampler",
    "TrainVideo",
    "TwoShotLoss",
    "bootstrapped_bce",
    "confidence_mask",
    "evaluate_sequence",
    "label_quality",
    "nearest_labeled",
    "override_labels",
    "pseudo_label_bank",
    "sample_clips",
]

MODES = ("all", "labeled", "semi")


@dataclass
class TrainVideo:
    """One training video.

    - ``frames``: ``(T, 3, H, W)`` normalised float32;
    - ``labels``: ``(T, H, W)`` float32 masks in {0, 1} (ground truth, or the
      pseudo-label bank);
    - ``labeled``: ``(T,)`` bool, the frames whose label is a real annotation (all True
      under full supervision).
    """

    name: str
    frames: torch.Tensor
    labels: torch.Tensor
    labeled: np.ndarray

    def __post_init__(self):
        self.labeled = np.asarray(self.labeled, dtype=bool)
        t = self.frames.shape[0]
        if self.labels.shape != (t, *self.frames.shape[-2:]) or self.labeled.shape != (
            t,
        ):
            raise ValueError(
                f"{self.name}: frames {tuple(self.frames.shape)}, labels "
                f"{tuple(self.labels.shape)} and "
                f"labeled {self.labeled.shape} disagree"
            )
        if not self.labeled.any():
            raise ValueError(f"{self.name}: at least one frame must be labeled")


def nearest_labeled(n_frames: int, labeled: Sequence[int]) -> np.ndarray:
    """For each frame, the labeled frame its pseudo-label is propagated from: the
    nearest one.

    Frames before the first labeled frame take backward propagation from it, frames
    after the last one forward propagation from it, and frames between two labeled
    frames are split at the midpoint; a frame exactly at the midpoint takes the earlier
    labeled frame (forward propagation). A labeled frame is its own source.

    Returns ``(n_frames,)`` int64 frame indices. Raises ``ValueError`` for an empty or
    out-of-range ``labeled``.
    """
    lab = np.unique(np.asarray(labeled, dtype=np.int64))
    if lab.size == 0:
        raise ValueError("at least one labeled frame is needed")
    if lab[0] < 0 or lab[-1] >= n_frames:
        raise ValueError(
            f"labeled frames {lab.tolist()} out of range for {n_frames} frames"
        )
    t = np.arange(n_frames)
    right = np.searchsorted(lab, t)  # first labeled index >= t
    after = lab[np.minimum(right, lab.size - 1)]
    before = lab[np.maximum(right - 1, 0)]
    before = np.where(right == 0, after, before)
    after = np.where(right == lab.size, before, after)
    return np.where(after - t < t - before, after, before)


def pseudo_label_bank(
    model: STM,
    frames: torch.Tensor,
    labeled: dict[int, torch.Tensor],
    *,
    mem_every: int = 5,
    top_k: int | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Pseudo-labels for every frame of a video from a few labeled frames.

    The model propagates each labeled frame's mask forward to the end of the video and
    backward to its start; each frame keeps the propagation from its
    :func:`nearest_labeled` frame (labeled frames keep their label).

    Args:
        model: a trained :class:`STM`.
        frames: ``(T, 3, H, W)`` normalised frames.
        labeled: frame index -> ``(H, W)`` mask.

    Returns:
        ``(probs, source)``: foreground probabilities ``(T, H, W)`` and the source frame
            of each ``(T,)``.
    """
    n = frames.shape[0]
    source = nearest_labeled(n, list(labeled))
    probs = torch.empty(n, *frames.shape[-2:], device=frames.device)
    for src, mask in labeled.items():
        mask = torch.as_tensor(mask, dtype=torch.float32, device=frames.device)
        after = np.flatnonzero((source == src) & (np.arange(n) > src))
        before = np.flatnonzero((source == src) & (np.arange(n) < src))
        probs[src] = mask
        if after.size:
            fwd = propagate(
                model,
                frames[src : after[-1] + 1],
                mask,
                mem_every=mem_every,
                top_k=top_k,
            )
            probs[after] = fwd[after - src]
        if before.size:
            bwd = propagate(
                model,
                frames[before[0] : src + 1].flip(0),
                mask,
                mem_every=mem_every,
                top_k=top_k,
            )
            probs[before] = bwd[src - before]
    return probs, source


def confidence_mask(probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """Pixels whose prediction is confident: ``max(p, 1 - p) >= threshold``, as a bool
    tensor of ``probs``' shape.
    """
    if not 0.5 <= threshold <= 1:
        raise ValueError(f"a confidence threshold lies in [0.5, 1]; got {threshold}")
    return torch.maximum(probs, 1 - probs) >= threshold


def override_labels(
    labels: torch.Tensor, probs: torch.Tensor, threshold: float = 0.99
) -> torch.Tensor:
    """Phase 2's on-the-fly correction: where the model is confident
    (:func:`confidence_mask`), its hard prediction replaces the bank's label; elsewhere
    the bank's label stays. Same shapes in and out.
    """
    conf = confidence_mask(probs, threshold)
    return torch.where(conf, (probs >= 0.5).to(labels.dtype), labels)


def bootstrapped_bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    top_p: float = 1.0,
) -> torch.Tensor:
    """Binary cross-entropy averaged over the hardest ``top_p`` share of the supervised
    pixels of each image.

    Args:
        logits, target: ``(B, H, W)`` (target in [0, 1]).
        weight: ``(B, H, W)`` 0/1, the pixels that are supervised (all by default).
        top_p: share of the supervised pixels kept, the ones with the largest loss
            (STCN's bootstrapping).

    Returns a scalar: the mean over images that have at least one supervised pixel (0
    when none has).
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p lies in (0, 1]; got {top_p}")
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(
        1
    )
    w = torch.ones_like(loss) if weight is None else weight.flatten(1).to(loss.dtype)
    n = w.sum(1)
    if top_p < 1:
        masked = torch.where(w > 0, loss, torch.full_like(loss, -1.0))
        k = torch.clamp((n * top_p).ceil().long(), min=1)
        ranked = masked.sort(dim=1, descending=True).values
        keep = torch.arange(loss.shape[1], device=loss.device)[None, :] < k[:, None]
        per_image = (ranked * keep).sum(1) / k
    else:
        per_image = (loss * w).sum(1) / n.clamp(min=1)
    has = n > 0
    return per_image[has].mean() if has.any() else logits.sum() * 0


def sample_clips(
    videos: Sequence[TrainVideo],
    mode: str,
    batch_size: int,
    rng: np.random.Generator,
    clip_len: int = 3,
    max_skip: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``batch_size`` clips of ``clip_len`` frames.

    - ``"all"``: any frame starts the clip; the others lie within ``max_skip`` frames of
      it, in time order in a random direction (forward or backward);
    - ``"labeled"``: frames drawn with replacement from the labeled frames of a video (a
      frame drawn twice is seen through two different augmentations);
    - ``"semi"``: a labeled frame starts the clip; half the time another labeled frame
      of the video is in it, and the rest lie within ``max_skip`` of the start.

    Returns ``(video index (B,), frame indices (B, clip_len))``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; accepted: {', '.join(MODES)}")
    vids = rng.integers(len(videos), size=batch_size)
    clips = np.empty((batch_size, clip_len), dtype=np.int64)
    for b, v in enumerate(vids):
        video = videos[v]
        n = video.frames.shape[0]
        lab = np.flatnonzero(video.labeled)
        if mode == "labeled":
            clips[b] = rng.choice(lab, size=clip_len, replace=True)
            continue
        start = int(rng.choice(lab)) if mode == "semi" else int(rng.integers(n))
        direction = 1 if rng.random() < 0.5 else -1
        lo, hi = (
            (start + 1, min(n, start + max_skip + 1))
            if direction > 0
            else (max(0, start - max_skip), start)
        )
        if hi - lo < clip_len - 1:  # no room on that side: take the other direction
            direction = -direction
            lo, hi = (
                (start + 1, min(n, start + max_skip + 1))
                if direction > 0
                else (max(0, start - max_skip), start)
            )
        pool = np.arange(lo, hi)
        rest = np.sort(
            rng.choice(pool, size=clip_len - 1, replace=pool.size < clip_len - 1)
        )
        others = lab[lab != start]
        if mode == "semi" and others.size and rng.random() < 0.5:
            rest[-1] = int(rng.choice(others))
            rest = rest[np.argsort(np.abs(rest - start), kind="stable")]
        elif direction < 0:
            rest = rest[::-1]
        clips[b] = np.concatenate([[start], rest])
    return vids, clips


def _batch(videos, vids, clips, generator, augment: bool):
    # (B, T, 3, H, W)
    frames = torch.stack(
        [videos[v].frames[c] for v, c in zip(vids, clips, strict=True)]
    )
    # (B, T, H, W)
    labels = torch.stack(
        [videos[v].labels[c] for v, c in zip(vids, clips, strict=True)]
    )
    known = torch.from_numpy(
        np.stack([videos[v].labeled[c] for v, c in zip(vids, clips, strict=True)])
    )
    known = known.to(frames.device)
    b, t = frames.shape[:2]
    if augment:
        flat, lab, _ = random_affine(
            frames.flatten(0, 1),
            labels.flatten(0, 1)[:, None],
            generator=generator,
            groups=t,
        )
        flat = colour_jitter(flat, generator=generator, groups=t)
        frames = flat.view(b, t, *flat.shape[1:])
        labels = (lab[:, 0] > 0.5).float().view(b, t, *lab.shape[-2:])
    return frames, labels, known


class ClipSampler:
    """Batches of augmented training clips, without end: iterate it, or give it to
    :func:`minilib.train.fit` with ``steps``.

    Each batch is a dict: ``frames`` ``(B, clip_len, 3, H, W)``, ``labels`` ``(B,
    clip_len, H, W)`` (the video's masks, or its pseudo-labels), ``known`` ``(B,
    clip_len)`` bool (the frame's label is a real annotation) and ``step``, the number
    of batches drawn before this one, and ``mode``. Clips are drawn by
    :func:`sample_clips` in ``mode``; with ``augment`` every clip gets a random affine
    warp per frame (a flip shared by the clip) and a colour change per clip.
    Deterministic for a ``seed``: the clips come from a numpy generator, the
    augmentations from a torch generator.
    """

    def __init__(
        self,
        videos: Sequence[TrainVideo],
        mode: str,
        batch_size: int,
        *,
        seed: int = 0,
        clip_len: int = 3,
        max_skip: int = 10,
        augment: bool = True,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; accepted: {', '.join(MODES)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        self.videos, self.mode, self.batch_size = list(videos), mode, batch_size
        self.clip_len, self.max_skip, self.augment = clip_len, max_skip, augment
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.drawn = 0

    def __iter__(self) -> Iterator[dict]:
        while True:
            vids, clips = sample_clips(
                self.videos,
                self.mode,
                self.batch_size,
                self.rng,
                clip_len=self.clip_len,
                max_skip=self.max_skip,
            )
            frames, labels, known = _batch(
                self.videos, vids, clips, self.generator, self.augment
            )
            batch = {"frames": frames, "labels": labels, "known": known}
            batch["mode"], batch["step"] = self.mode, self.drawn
            self.drawn += 1
            yield batch


class TwoShotLoss:
    """The loss of one batch of clips, for :func:`minilib.train.fit`.

    Every clip starts from the label of its first frame; the later frames are predicted
    with the memory (:meth:`STM.forward_clip`) and supervised by
    :func:`bootstrapped_bce`, whose kept share of pixels falls linearly from
    ``top_p[0]`` to ``top_p[1]`` over the first half of the ``steps``.

    Supervision of a predicted frame: its label, except

    - with a ``teacher`` (phase 1): a frame whose label is not a real annotation is
      supervised by the teacher's hard prediction on the same clip, only where the
      teacher is confident (:func:`confidence_mask` with ``confidence``);
    - with ``override_after`` (phase 2, a fraction of the ``steps``): from then on, the
      model's own confident predictions (``override_threshold``) replace the labels of
      the frames that are not real annotations (:func:`override_labels`).

    Returns ``(loss, {"supervised": share of supervised pixels})``.
    """

    def __init__(
        self,
        steps: int,
        *,
        top_p: tuple[float, float] = (1.0, 0.15),
        teacher: STM | None = None,
        confidence: float = 0.9,
        override_after: float | None = None,
        override_threshold: float = 0.99,
    ):
        if steps < 1:
            raise ValueError(f"steps must be >= 1; got {steps}")
        if teacher is not None and override_after is not None:
            raise ValueError(
                "a teacher (phase 1) and overriding (phase 2) exclude each other"
            )
        self.steps, self.top_p, self.teacher = steps, top_p, teacher
        self.confidence = confidence
        self.override_after, self.override_threshold = (
            override_after,
            override_threshold,
        )

    def __call__(
        self, model: STM, batch: dict
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        frames, labels, known, it = (
            batch["frames"],
            batch["labels"],
            batch["known"],
            batch["step"],
        )
        if batch["mode"] == "semi" and self.teacher is None:
            raise ValueError('clips of mode "semi" need a teacher (phase 1)')
        logits = model.forward_clip(frames, labels[:, :1])
        target = labels[:, 1:]
        weight = torch.ones_like(target)
        unknown = ~known[:, 1:, None, None]
        if self.teacher is not None:
            with torch.no_grad():
                probs_t = torch.sigmoid(
                    self.teacher.forward_clip(frames, labels[:, :1])
                )
            target = torch.where(unknown, (probs_t >= 0.5).float(), target)
            confident = confidence_mask(probs_t, self.confidence).float()
            weight = torch.where(unknown, confident, weight)
        elif self.override_after is not None and it >= self.override_after * self.steps:
            probs = torch.sigmoid(logits.detach())
            override = override_labels(target, probs, self.override_threshold)
            target = torch.where(unknown, override, target)
        frac = min(1.0, it / max(1, self.steps // 2))
        p = self.top_p[0] + (self.top_p[1] - self.top_p[0]) * frac
        loss = bootstrapped_bce(
            logits.flatten(0, 1), target.flatten(0, 1), weight.flatten(0, 1), top_p=p
        )
        return loss, {"supervised": weight.mean()}


def evaluate_sequence(
    model: STM,
    frames: torch.Tensor,
    gt_masks: np.ndarray,
    *,
    mem_every: int = 5,
    top_k: int | None = None,
    first_mask: torch.Tensor | None = None,
) -> dict:
    """Segment a sequence from its first ground-truth mask and score it by the DAVIS
    semi-supervised protocol.

    ``frames`` ``(T, 3, h, w)`` at the working resolution; ``gt_masks`` ``(T, H, W)``
    0/1 at the resolution of the evaluation (480p in DAVIS). The first mask is
    ``gt_masks[0]`` resized to ``(h, w)`` unless given; the predictions are upsampled
    bilinearly to ``(H, W)`` and thresholded at 0.5. J and F (:func:`j_and_f`) skip the
    first and the last frame.

    Returns ``{"J", "F", "J&F", "J_per_frame", "F_per_frame", "n_frames", "probs" (T, h,
    w)}``.
    """
    gt = np.asarray(gt_masks)
    h, w = frames.shape[-2:]
    if first_mask is None:
        first_mask = downsample_masks(gt[0:1], (w, h))[0]
    probs = propagate(model, frames, first_mask, mem_every=mem_every, top_k=top_k).cpu()
    pred = upsample_probs(probs, (gt.shape[2], gt.shape[1])) >= 0.5
    scores = j_and_f(pred, gt > 0, exclude_first_last=True)
    scores["probs"] = probs
    return scores


def label_quality(
    probs: torch.Tensor, gt_masks: np.ndarray, skip: Sequence[int] = ()
) -> np.ndarray:
    """J of each frame's pseudo-label (probabilities ``(T, h, w)``, upsampled and
    thresholded at 0.5) against the real masks ``(T, H, W)``; frames in ``skip`` (the
    labeled ones) get NaN. Returns ``(T,)`` float.
    """
    gt = np.asarray(gt_masks)
    pred = upsample_probs(probs, (gt.shape[2], gt.shape[1])) >= 0.5
    out = np.array([jaccard(p, g > 0) for p, g in zip(pred, gt, strict=True)])
    out[list(skip)] = np.nan
    return out
