"""DAVIS 2017 sequences: frames and object-id masks.

Used by the datasets chapter and the two-shot video object segmentation chapter.

The folder ``davis2017/`` holds 10 whole single-object sequences (5 train, 5 val) at
480p. The frames are the official JPEGs; the masks of every frame are the DAVIS 2016
binary annotations (mode ``L``, 0 / 255), kept in ``Annotations_davis2016/`` because
under the DAVIS 2017 convention 255 means *void*. For these single-object sequences the
DAVIS 2017 index mask is the binary mask with 255 relabelled 1 (:func:`binary_to_ids`);
the six real DAVIS 2017 palette masks of ``blackswan`` (``Annotations/``, read with
:func:`load_palette_annotation`) show it pixel for pixel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError, DatasetNotFoundError, MalformedDataError
from .names import DAVIS2017_VAL
from .registry import get, locate, matching

_NAME = "davis2017"
_SPLITS = ("train", "val", "all")
_LISTS = {
    "train": "ImageSets/2017/train_present.txt",
    "val": "ImageSets/2017/val_present.txt",
}
_FRAME_DIR = "JPEGImages/480p"
_MASK_DIR = "Annotations_davis2016/480p"
_SEQ_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FRAME_NAME = re.compile(r"\d{5}")

PathLike = str | os.PathLike


def _read_list(rel: str, data_dir: PathLike | None) -> list[str]:
    path = locate(_NAME, rel, data_dir=data_dir)
    names: list[str] = []
    for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not _SEQ_NAME.fullmatch(line):
            raise MalformedDataError(path, f"{line!r} is not a sequence name", line=i)
        if line in names:
            raise MalformedDataError(path, f"sequence {line!r} is listed twice", line=i)
        names.append(line)
    return names


def list_sequences(split: str = "all", data_dir: PathLike | None = None) -> list[str]:
    """Names of the DAVIS 2017 sequences present in the data folder, in the order of the
    split lists.

    ``split`` is ``"train"`` (``ImageSets/2017/train_present.txt``), ``"val"``
    (``val_present.txt``) or ``"all"`` (train, then val). Returns a ``list[str]`` (5 + 5
    names in the book's data).

    Raises ``ValueError`` for another split (the message lists the accepted ones),
    :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` when a list file is
    missing or differs from the registry, and :class:`MalformedDataError` (file and
    line) for a bad or repeated name.

    Used by the datasets chapter and the two-shot VOS chapter.
    """
    if split not in _SPLITS:
        raise ValueError(
            f"unknown DAVIS 2017 split {split!r}; accepted: "
            f"{', '.join(map(repr, _SPLITS))}"
        )
    if split == "all":
        train = _read_list(_LISTS["train"], data_dir)
        val = _read_list(_LISTS["val"], data_dir)
        both = [n for n in train if n in val]
        if both:
            raise MalformedDataError(
                locate(_NAME, _LISTS["val"], data_dir=data_dir),
                f"sequences in both train and val: {both}",
            )
        return train + val
    return _read_list(_LISTS[split], data_dir)


@dataclass
class VOSSequence:
    """One video with its per-frame object-id masks.

    - ``name``: the sequence name (``"blackswan"``); ``split``: ``"train"`` or
      ``"val"``;
    - ``frame_names``: the loaded frames' names (``"00000"``, ``"00001"``, ...),
      ``list[str]`` of length T;
    - ``frames``: ``(T, H, W, 3) uint8`` RGB;
    - ``masks``: ``(T, H, W) uint8`` object ids, 0 = background and 1..``num_objects``
      the objects;
    - ``num_objects``: number of annotated objects of the sequence (1 for the binary
      DAVIS 2016 masks).
    """

    name: str
    split: str
    frame_names: list[str]
    frames: np.ndarray
    masks: np.ndarray
    num_objects: int

    def __len__(self) -> int:
        return len(self.frame_names)


def binary_to_ids(mask) -> np.ndarray:
    """Map a binary 0/255 mask (2-D array or mode ``L`` image) to DAVIS 2017 object ids.

    Returns ``(H, W) uint8`` with ``> 127`` -> 1 (the object) and the rest 0
    (background): for the single-object sequences of this folder that is the DAVIS 2017
    index mask. Raises ``ValueError`` when ``mask`` is not two-dimensional. Used by the
    datasets chapter and the two-shot VOS chapter.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"a binary mask must be 2-D (H, W); got shape {arr.shape}")
    return (arr > 127).astype(np.uint8)


def load_palette_annotation(
    path: PathLike, data_dir: PathLike | None = None
) -> np.ndarray:
    """Read a DAVIS 2017 palette (mode ``P``) annotation PNG as object ids.

    ``path`` is either a registered file of ``davis2017`` relative to its folder (for
    example ``"Annotations/480p/blackswan/00000.png"``; found and checksum-verified
    through :func:`locate`, with ``data_dir`` as the data root) or the path of a palette
    PNG elsewhere. Returns ``(H, W) uint8`` palette indices: 0 = background, 1..N =
    objects, 255 = void (DAVIS 2017 convention).

    Raises :class:`MalformedDataError` when the PNG is not a palette image (the binary
    mode ``L`` DAVIS 2016 masks must go through :func:`binary_to_ids` instead),
    :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` as :func:`locate`
    does. Used by the datasets chapter and the two-shot VOS chapter.
    """
    rel = Path(path)
    if not rel.is_absolute() and rel.as_posix() in get(_NAME).checksums:
        file = locate(_NAME, rel.as_posix(), data_dir=data_dir)
    else:
        file = Path(path)
        if not file.is_file():
            raise DatasetNotFoundError(
                _NAME, file, get(_NAME).how_to_get(), what="palette annotation"
            )
    with Image.open(file) as im:
        if im.mode != "P":
            raise MalformedDataError(
                file,
                f"expected a palette (mode 'P') PNG, found mode {im.mode!r}; use "
                "binary_to_ids for 0/255 masks",
            )
        return np.array(im, dtype=np.uint8)


def _select(n: int, frames: slice | Sequence[int] | None) -> list[int]:
    if frames is None:
        return list(range(n))
    if isinstance(frames, slice):
        idx = list(range(n))[frames]
    else:
        idx = []
        for f in frames:
            if isinstance(f, bool) or not isinstance(f, int | np.integer):
                raise TypeError(f"frame indices must be integers; got {f!r}")
            if not -n <= f < n:
                raise IndexError(
                    f"frame index {f} out of range for a sequence of {n} frames"
                )
            idx.append(int(f) % n)
    if not idx:
        raise ValueError(
            f"frames={frames!r} selects no frame of a sequence of {n} frames"
        )
    return idx


def _frame_files(
    name: str, data_dir: PathLike | None
) -> tuple[list[str], list[str], list[str]]:
    """(frame names, frame relpaths, mask relpaths) of a sequence, checked for gaps and
    missing masks.
    """
    jpgs = {Path(p).stem: p for p in matching(_NAME, f"{_FRAME_DIR}/{name}/*.jpg")}
    pngs = {Path(p).stem: p for p in matching(_NAME, f"{_MASK_DIR}/{name}/*.png")}
    root = locate(_NAME, data_dir=data_dir)
    if not jpgs:
        raise DatasetNotFoundError(
            _NAME,
            root / _FRAME_DIR / name,
            get(_NAME).how_to_get(),
            what=f"frames of sequence {name!r}",
        )
    names = sorted(jpgs)
    bad = [n for n in names if not _FRAME_NAME.fullmatch(n)]
    if bad:
        raise MalformedDataError(
            root / _FRAME_DIR / name, f"frame names must be 5 digits; found {bad[:5]}"
        )
    expected = [f"{i:05d}" for i in range(len(names))]
    if names != expected:
        missing = sorted(set(expected) - set(names))
        raise MalformedDataError(
            root / _FRAME_DIR / name,
            f"frame names are not contiguous from 00000: {len(names)} frames, missing "
            f"{missing[:5]}",
        )
    no_mask = [n for n in names if n not in pngs]
    extra = sorted(set(pngs) - set(jpgs))
    if no_mask or extra:
        raise MalformedDataError(
            root / _MASK_DIR / name,
            f"every frame needs one mask: frames without a mask {no_mask[:5]}, masks "
            f"without a frame {extra[:5]}",
        )
    return names, [jpgs[n] for n in names], [pngs[n] for n in names]


def _load_pair(
    jp: Path, pp: Path, size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(frame (H, W, 3) uint8, ids (H, W) uint8, native size) of one frame, resized when
    ``size`` is given.
    """
    with Image.open(jp) as im:
        img = im.convert("RGB") if im.mode != "RGB" else im
        native = img.size
        if size is not None:
            img = img.resize(size, Image.Resampling.BILINEAR)
        frame = np.asarray(img)
    with Image.open(pp) as mk:
        if mk.mode != "L":
            raise MalformedDataError(
                pp,
                f"expected a binary grayscale (mode 'L') mask, found mode {mk.mode!r}",
            )
        if mk.size != native:
            raise MalformedDataError(
                pp, f"mask size {mk.size} differs from its frame's size {native}"
            )
        ids = binary_to_ids(mk)
    if size is not None:
        ids = np.asarray(Image.fromarray(ids).resize(size, Image.Resampling.NEAREST))
    return frame, ids, native


def _official(data_dir: PathLike | None) -> set[str]:
    """All DAVIS 2017 train and val names (for error messages; the train list may be
    unreadable).
    """
    names = set(DAVIS2017_VAL)
    try:
        names.update(_read_list("ImageSets/2017/train.txt", data_dir))
    except (DataError, KeyError):
        pass
    return names


def load_sequence(
    name: str,
    *,
    size: tuple[int, int] | None = None,
    frames: slice | Sequence[int] | None = None,
    data_dir: PathLike | None = None,
) -> VOSSequence:
    """Load a sequence's RGB frames and object-id masks (every frame is annotated).

    Frames come from ``JPEGImages/480p/<name>/*.jpg``, masks from
    ``Annotations_davis2016/480p/<name>/*.png`` (binary 0/255, mode ``L``) mapped to ids
    with :func:`binary_to_ids`. ``frames`` is an optional slice or list of frame indices
    (negative indices count from the end) to load only some frames. ``size=(W, H)``
    resizes frames bilinearly and masks with nearest neighbour (ids stay in {0, 1}).

    Returns a :class:`VOSSequence`: ``frames`` ``(T, H, W, 3) uint8``, ``masks`` ``(T,
    H, W) uint8`` (854x480 at native size), ``frame_names`` such as ``"00000"``,
    ``num_objects`` = 1.

    Raises ``ValueError`` for an unknown sequence (the message lists the available ones)
    or an empty frame selection, ``IndexError`` for an out-of-range index;
    :class:`MalformedDataError` when frame names are not contiguous from 00000, a frame
    lacks its mask, a mask is not mode ``L``, or a mask's size differs from its frame's;
    :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` from :func:`locate`.

    Used by the datasets chapter and the two-shot VOS chapter.
    """
    train = list_sequences("train", data_dir=data_dir)
    val = list_sequences("val", data_dir=data_dir)
    if name in train:
        split = "train"
    elif name in val:
        split = "val"
    else:
        hint = (
            " (a DAVIS 2017 sequence, but not in this subset)"
            if name in _official(data_dir)
            else ""
        )
        raise ValueError(
            f"unknown DAVIS 2017 sequence {name!r}{hint}; available: "
            f"{', '.join(train + val)}"
        )
    if size is not None:
        if len(size) != 2 or not all(
            isinstance(s, int | np.integer) and s > 0 for s in size
        ):
            raise ValueError(
                f"size must be (W, H) with positive integers; got {size!r}"
            )
        size = (int(size[0]), int(size[1]))

    names, jpg_rel, png_rel = _frame_files(name, data_dir)
    idx = _select(len(names), frames)
    jpg_paths = locate(_NAME, *[jpg_rel[i] for i in idx], data_dir=data_dir)
    png_paths = locate(_NAME, *[png_rel[i] for i in idx], data_dir=data_dir)
    if len(idx) == 1:
        jpg_paths, png_paths = [jpg_paths], [png_paths]

    # Decoding and resizing release the GIL: a few threads load the frames about
    # cpu-count times faster.
    workers = max(1, min(8, os.cpu_count() or 1, len(idx)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pairs = list(
            pool.map(
                lambda jp_pp: _load_pair(*jp_pp, size),
                zip(jpg_paths, png_paths, strict=True),
            )
        )
    native = pairs[0][2]
    for (_, _, frame_size), jp in zip(pairs, jpg_paths, strict=True):
        if frame_size != native:
            raise MalformedDataError(
                jp, f"frame size {frame_size} differs from the first frame's {native}"
            )
    frames_arr = np.stack([p[0] for p in pairs])
    masks_arr = np.stack([p[1] for p in pairs])
    return VOSSequence(
        name=name,
        split=split,
        frame_names=[names[i] for i in idx],
        frames=frames_arr,
        masks=masks_arr,
        num_objects=1,
    )
