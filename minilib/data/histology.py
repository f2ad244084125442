"""EBHI-Seg: colorectal H&E patches (224x224 RGB) with a class label and a lesion mask.

Used by the gastric screening (histology) chapter, as the closest public stand-in (it is
colorectal, not gastric tissue; see the dataset's ``SOURCE.md``).

``histology/ebhi_seg/manifest.csv`` lists the 267 image+mask pairs with the class (the
folder name) and the case, section and patch parsed from the file name; ``group`` (the
name without its patch index) stands for one slide. A file name is unique only within a
class folder: key the pairs by (class, name).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from ._io import read_csv_checked
from .errors import MalformedDataError
from .registry import get, locate

_NAME = "ebhi_seg"
_MANIFEST = "manifest.csv"

# The six diagnostic classes (folder names), from normal tissue to cancer.
EBHI_CLASSES: tuple[str, ...] = (
    "Normal",
    "Polyp",
    "Low-grade IN",
    "High-grade IN",
    "Serrated adenoma",
    "Adenocarcinoma",
)

_COLUMNS = {
    c: "str" for c in ("image", "mask", "class", "case_id", "section", "patch", "group")
}

PathLike = str | os.PathLike


def load_ebhi_seg(data_dir: PathLike | None = None) -> pd.DataFrame:
    """The EBHI-Seg manifest, one row per image+mask pair (267 rows), in the file's
    order.

    Columns (all str, as written in ``manifest.csv``): ``image`` and ``mask`` (paths
    relative to the dataset folder, ``EBHI-SEG/<class>/image/<name>.png`` and
    ``EBHI-SEG/<class>/label/<name>.png``), ``class`` (one of :data:`EBHI_CLASSES`),
    ``case_id`` (``"2012118"``), ``section`` (``"1"``), ``patch`` (``"001"``,
    zero-padded), ``group`` (``"GT2012118-1-400"``, one slide); plus ``image_path`` and
    ``mask_path`` (str, absolute, checksum-verified).

    Raises :class:`MalformedDataError` naming ``manifest.csv`` and the line when a row
    has an empty field, a class outside :data:`EBHI_CLASSES`, an image or mask that is
    not a registered file of the dataset, or paths that do not sit in the row's class
    folder; :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` from
    :func:`locate` for the manifest or any image or mask.

    Used by the gastric screening (histology) chapter.
    """
    manifest = locate(_NAME, _MANIFEST, data_dir=data_dir)
    df = read_csv_checked(manifest, _COLUMNS)[list(_COLUMNS)]
    registered = get(_NAME).checksums
    seen: set[tuple[str, str]] = set()
    for i, values in enumerate(df.to_dict("records")):
        line = i + 2  # the header is line 1
        empty = [c for c, v in values.items() if pd.isna(v) or v == ""]
        if empty:
            raise MalformedDataError(manifest, f"empty field(s) {empty}", line=line)
        cls = values["class"]
        if cls not in EBHI_CLASSES:
            raise MalformedDataError(
                manifest,
                f"unknown class {cls!r}; expected one of {', '.join(EBHI_CLASSES)}",
                line=line,
            )
        for col, sub in (("image", "image"), ("mask", "label")):
            rel = values[col]
            if rel not in registered:
                raise MalformedDataError(
                    manifest,
                    f"{col} {rel!r} is not a registered file of {_NAME}",
                    line=line,
                )
            p = PurePosixPath(rel)
            if p.parts[:-1] != ("EBHI-SEG", cls, sub):
                raise MalformedDataError(
                    manifest,
                    f"{col} {rel!r} is not in the folder EBHI-SEG/{cls}/{sub}/",
                    line=line,
                )
        if PurePosixPath(values["image"]).name != PurePosixPath(values["mask"]).name:
            raise MalformedDataError(
                manifest, "image and mask file names differ", line=line
            )
        key = (cls, values["image"])
        if key in seen:
            raise MalformedDataError(
                manifest, f"pair {values['image']!r} is listed twice", line=line
            )
        seen.add(key)
    rels = list(df["image"]) + list(df["mask"])
    paths = locate(_NAME, *rels, data_dir=data_dir) if rels else []
    if len(rels) == 1:
        paths = [paths]
    n = len(df)
    df["image_path"] = [str(p) for p in paths[:n]]
    df["mask_path"] = [str(p) for p in paths[n:]]
    return df


def load_ebhi_pair(
    row: pd.Series | int, data_dir: PathLike | None = None
) -> tuple[Image.Image, np.ndarray]:
    """The image and binary mask of one manifest row.

    ``row`` is a row of :func:`load_ebhi_seg` (a Series with ``image`` and ``mask``) or
    an integer position in the manifest. Returns ``(image, mask)``: ``image`` an RGB
    ``PIL.Image`` (224x224), ``mask`` a ``(224, 224) bool`` array, ``True`` where the
    grayscale PNG is ``> 127`` (annotated tissue; the anti-aliased edges are split at
    127).

    Raises ``IndexError`` for an out-of-range position, ``TypeError`` for another kind
    of ``row``, :class:`MalformedDataError` when a file cannot be read or the mask's
    size differs from the image's; :class:`DatasetNotFoundError` /
    :class:`ChecksumMismatchError` from :func:`locate`.

    Used by the gastric screening (histology) chapter.
    """
    if isinstance(row, int | np.integer) and not isinstance(row, bool):
        df = load_ebhi_seg(data_dir=data_dir)
        if not -len(df) <= row < len(df):
            raise IndexError(
                f"row {row} out of range for the {len(df)} pairs of the manifest"
            )
        row = df.iloc[int(row)]
    elif not isinstance(row, pd.Series):
        raise TypeError(
            "row must be a manifest row (pandas Series) or an integer, not "
            f"{type(row).__name__}"
        )
    image_path, mask_path = locate(
        _NAME, str(row["image"]), str(row["mask"]), data_dir=data_dir
    )
    try:
        with Image.open(image_path) as im:
            image = im.convert("RGB")
    except (OSError, SyntaxError) as e:
        raise MalformedDataError(image_path, f"not a readable image ({e})") from None
    try:
        with Image.open(mask_path) as mk:
            mask_img = mk.convert("L") if mk.mode != "L" else mk.copy()
    except (OSError, SyntaxError) as e:
        raise MalformedDataError(mask_path, f"not a readable image ({e})") from None
    if mask_img.size != image.size:
        raise MalformedDataError(
            mask_path,
            f"mask size {mask_img.size} differs from the image's {image.size}",
        )
    return image, np.asarray(mask_img) > 127


def ebhi_groups(df: pd.DataFrame) -> pd.DataFrame:
    """Per-slide summary of a manifest frame (:func:`load_ebhi_seg` or a subset of it).

    Returns one row per ``group``, sorted by group: ``group`` (str), ``n_patches``
    (int64), ``classes`` (tuple of the classes present, in :data:`EBHI_CLASSES` order)
    and ``mixed`` (bool, more than one class; ``GTxc2012827-1-400`` in the book's data).
    Raises ``KeyError`` when ``df`` lacks the ``group`` or ``class`` column.

    Used by the gastric screening (histology) chapter (slide-level aggregation).
    """
    missing = [c for c in ("group", "class") if c not in df.columns]
    if missing:
        raise KeyError(f"the frame lacks the column(s) {missing}")
    order = {c: i for i, c in enumerate(EBHI_CLASSES)}
    rows = []
    for group, sub in df.groupby("group", sort=True):
        classes = tuple(
            sorted(set(sub["class"]), key=lambda c: (order.get(c, len(order)), c))
        )
        rows.append(
            {
                "group": group,
                "n_patches": len(sub),
                "classes": classes,
                "mixed": len(classes) > 1,
            }
        )
    out = pd.DataFrame(rows, columns=["group", "n_patches", "classes", "mixed"])
    return out.astype({"n_patches": np.int64, "mixed": bool})
