"""COCO images with multi-label targets, and the GloVe label vectors of
``label_embeddings``.

Used by the datasets chapter and the multi-label few-shot chapter.

``coco/`` holds the first 128 images of COCO train2017 and of val2017 (the "coco128"
subsets) with their YOLO labels (``labels/<split>/<stem>.txt``, class ids in
:data:`COCO_CLASSES` order) and, for train2017, the official instances JSON.
``label_embeddings/`` holds ML-GCN's 300-d GloVe vectors of the 80 COCO and 20 VOC class
names, in *alphabetical* row order (``<vocab>_labels.txt``): join the two by name
(:func:`align_embeddings`), never by index.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ._io import load_numpy_pickle, read_json_checked
from .errors import DatasetNotFoundError, MalformedDataError
from .names import COCO_CLASSES, VOC_CLASSES
from .registry import get, locate, matching

_NAME = "coco"
_EMB = "label_embeddings"
SPLITS: tuple[str, ...] = ("train2017", "val2017")
SOURCES: tuple[str, ...] = ("yolo", "instances")
VOCABS: dict[str, tuple[str, ...]] = {"coco": COCO_CLASSES, "voc": VOC_CLASSES}
EMBEDDING_DIM = 300
_INSTANCES = "annotations/instances_train2017.json"
_IMAGE_ID = re.compile(r"\d{12}")
_COORDS = ("x_center", "y_center", "width", "height")

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------
# images


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header; nothing is decoded."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError) as e:  # PIL.UnidentifiedImageError is an OSError
        raise MalformedDataError(path, f"not a readable image ({e})") from None


def _read_yolo(path: Path) -> list[int]:
    """Class ids of the boxes of one YOLO label file, checked line by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise MalformedDataError(path, f"not UTF-8 text ({e})") from None
    ids = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:  # blank lines carry no box
            continue
        if len(fields) != 5:
            raise MalformedDataError(
                path,
                "expected 5 fields 'class x_center y_center width height', found "
                f"{len(fields)}",
                line=lineno,
            )
        try:
            cls = int(fields[0])
        except ValueError:
            raise MalformedDataError(
                path, f"class {fields[0]!r} is not an integer", line=lineno
            ) from None
        if not 0 <= cls < len(COCO_CLASSES):
            raise MalformedDataError(
                path, f"class {cls} is outside 0..{len(COCO_CLASSES) - 1}", line=lineno
            )
        for name, value in zip(_COORDS, fields[1:], strict=True):
            try:
                x = float(value)
            except ValueError:
                raise MalformedDataError(
                    path, f"{name} {value!r} is not a number", line=lineno
                ) from None
            if not 0.0 <= x <= 1.0:  # also rejects nan
                raise MalformedDataError(
                    path, f"{name} {x} is outside [0, 1]", line=lineno
                )
        ids.append(cls)
    return ids


def _labels_from_ids(ids: Iterable[int]) -> tuple[str, ...]:
    return tuple(COCO_CLASSES[i] for i in sorted(set(ids)))


def _instances(
    path: Path, files: list[str], image_ids: list[int], sizes: list[tuple[int, int]]
):
    """(labels, n_boxes) per image from the COCO instances JSON, cross-checked with the
    image files.
    """
    data = read_json_checked(path)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise MalformedDataError(
            path,
            "expected an object with the lists 'images', 'annotations', 'categories'",
        )
    yolo_index = {name: i for i, name in enumerate(COCO_CLASSES)}
    cat_to_yolo = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or c.get("name") not in yolo_index or "id" not in c:
            raise MalformedDataError(
                path, f"category {c!r} is not one of the 80 COCO categories"
            )
        cat_to_yolo[c["id"]] = yolo_index[c["name"]]
    by_file = {}
    for im in data["images"]:
        if (
            not isinstance(im, dict)
            or not {"id", "file_name", "width", "height"} <= im.keys()
        ):
            raise MalformedDataError(
                path, f"image entry {im!r} lacks id, file_name, width or height"
            )
        by_file[im["file_name"]] = im
    names = [Path(f).name for f in files]
    extra = sorted(set(by_file) - set(names))
    if extra:
        raise MalformedDataError(
            path, f"images listed in the JSON but not in images/train2017: {extra[:5]}"
        )
    row_of_id = {}
    for row, (name, image_id, size) in enumerate(
        zip(names, image_ids, sizes, strict=True)
    ):
        im = by_file.get(name)
        if im is None:
            raise MalformedDataError(path, f"image {name} has no entry in 'images'")
        if im["id"] != image_id:
            raise MalformedDataError(
                path, f"image {name} has id {im['id']}, its file name says {image_id}"
            )
        if (im["width"], im["height"]) != size:
            raise MalformedDataError(
                path,
                f"image {name}: JSON size {im['width']}x{im['height']} but the file is "
                f"{size[0]}x{size[1]}",
            )
        row_of_id[image_id] = row
    ids: list[list[int]] = [[] for _ in files]
    for a in data["annotations"]:
        if (
            not isinstance(a, dict)
            or a.get("image_id") not in row_of_id
            or a.get("category_id") not in cat_to_yolo
        ):
            raise MalformedDataError(
                path,
                f"annotation {str(a)[:120]} has an unknown image_id or category_id",
            )
        # crowd regions are not boxes of one object; the YOLO labels skip them too
        if a.get("iscrowd", 0):
            continue
        ids[row_of_id[a["image_id"]]].append(cat_to_yolo[a["category_id"]])
    return [_labels_from_ids(i) for i in ids], [len(i) for i in ids]


def load_coco(
    split: str = "train2017", source: str = "yolo", data_dir: PathLike | None = None
) -> pd.DataFrame:
    """One row per image of a COCO split, with its multi-label target.

    Rows come from the registered images ``images/<split>/*.jpg`` (sorted by file name),
    never from the label files. ``source="yolo"`` reads ``labels/<split>/<stem>.txt``
    (lines ``class xc yc w h``; an image without a label file has no labels, as
    upstream; label files without an image are ignored). ``source="instances"`` reads
    ``annotations/instances_train2017.json`` (train2017 only), maps ``category_id`` to
    the name through ``categories``, and skips crowd annotations (``iscrowd=1``), as the
    YOLO labels do; its label sets equal the YOLO ones.

    Returns a DataFrame with columns ``image_id`` (int64, from the file name), ``file``
    (str, path relative to the ``coco`` folder, such as
    ``images/train2017/000000000009.jpg``), ``path`` (str, absolute, checksum-verified),
    ``width`` and ``height`` (int64, from the image header; nothing is decoded),
    ``labels`` (tuple of distinct category names sorted by YOLO class id; ``()`` for no
    object) and ``n_boxes`` (int64). 128 rows per split in the book's data.

    Raises ``ValueError`` for an unknown split or source (listing the accepted values)
    and for ``source="instances"`` with ``val2017`` (no val instances file exists:
    upstream's was a copy of train); :class:`MalformedDataError` naming the file and
    line of a bad YOLO line (not 5 fields, class not an integer in 0..79, coordinate not
    a number in [0, 1]), a bad image name, an unreadable image or a JSON that disagrees
    with the images; :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` from
    :func:`locate`.

    Used by the datasets chapter and the multi-label few-shot chapter.
    """
    if split not in SPLITS:
        raise ValueError(
            f"unknown COCO split {split!r}; accepted: {', '.join(map(repr, SPLITS))}"
        )
    if source not in SOURCES:
        raise ValueError(
            f"unknown label source {source!r}; accepted: "
            f"{', '.join(map(repr, SOURCES))}"
        )
    if source == "instances" and split != "train2017":
        raise ValueError(
            "source='instances' exists only for 'train2017': the data has no "
            f"instances_{split}.json (upstream's "
            "val file is a copy of the train one, so it was left out); use "
            f"source='yolo' for {split!r}"
        )
    files = matching(_NAME, f"images/{split}/*.jpg")
    if not files:
        raise KeyError(f"no registered images for split {split!r} of dataset {_NAME!r}")
    paths = locate(_NAME, *files, data_dir=data_dir)
    if len(files) == 1:
        paths = [paths]
    image_ids, sizes = [], []
    for rel, p in zip(files, paths, strict=True):
        stem = Path(rel).stem
        if not _IMAGE_ID.fullmatch(stem):
            raise MalformedDataError(
                p, "an image name must be the 12-digit COCO image id"
            )
        image_ids.append(int(stem))
        sizes.append(_image_size(p))

    if source == "yolo":
        registered = get(_NAME).checksums
        labels, n_boxes = [], []
        for rel in files:
            label_rel = f"labels/{split}/{Path(rel).stem}.txt"
            ids = (
                _read_yolo(locate(_NAME, label_rel, data_dir=data_dir))
                if label_rel in registered
                else []
            )
            labels.append(_labels_from_ids(ids))
            n_boxes.append(len(ids))
    else:
        labels, n_boxes = _instances(
            locate(_NAME, _INSTANCES, data_dir=data_dir), files, image_ids, sizes
        )

    return pd.DataFrame(
        {
            "image_id": np.array(image_ids, dtype=np.int64),
            "file": files,
            "path": [str(p) for p in paths],
            "width": np.array([s[0] for s in sizes], dtype=np.int64),
            "height": np.array([s[1] for s in sizes], dtype=np.int64),
            "labels": pd.Series(labels, dtype=object),
            "n_boxes": np.array(n_boxes, dtype=np.int64),
        }
    )


def multi_hot(
    labels: Sequence[Sequence[str]], classes: Sequence[str] = COCO_CLASSES
) -> np.ndarray:
    """Multi-hot targets: row i has a 1 in column j when ``classes[j]`` is in
    ``labels[i]``.

    ``labels`` is a sequence of label tuples (the ``labels`` column of
    :func:`load_coco`). Returns ``(n_images, len(classes)) uint8``. Raises ``KeyError``
    naming an unknown label (and its row), ``TypeError`` when a row is a bare string,
    ``ValueError`` when ``classes`` repeats a name.

    Used by the datasets chapter and the multi-label few-shot chapter.
    """
    index = {c: j for j, c in enumerate(classes)}
    if len(index) != len(classes):
        raise ValueError("classes has repeated names")
    rows = list(labels)
    out = np.zeros((len(rows), len(index)), dtype=np.uint8)
    for i, row in enumerate(rows):
        if isinstance(row, str):
            raise TypeError(
                f"row {i}: expected a tuple of label names, got the string {row!r}"
            )
        for name in row:
            j = index.get(name)
            if j is None:
                raise KeyError(
                    f"unknown label {name!r} in row {i}; it is not one of the "
                    f"{len(index)} classes"
                )
            out[i, j] = 1
    return out


def load_image(
    path: PathLike,
    size: tuple[int, int] | None = None,
    data_dir: PathLike | None = None,
) -> Image.Image:
    """Open a COCO image as an RGB ``PIL.Image`` (``size=(W, H)`` resizes it with
    bicubic interpolation).

    ``path`` is the ``file`` column of :func:`load_coco` (a registered relative path,
    found and checksum-verified through :func:`locate`) or any image path (the ``path``
    column). The image is decoded and the file closed. Raises
    :class:`DatasetNotFoundError` for a missing file, :class:`MalformedDataError` for an
    unreadable one, ``ValueError`` for a bad ``size``.

    Used by the datasets chapter and the multi-label few-shot chapter.
    """
    file = _resolve(path, data_dir)
    try:
        with Image.open(file) as im:
            img = im.convert("RGB")
    except (OSError, SyntaxError) as e:
        raise MalformedDataError(file, f"not a readable image ({e})") from None
    if size is not None:
        img = img.resize(_check_size(size), Image.Resampling.BICUBIC)
    return img


def _check_size(size) -> tuple[int, int]:
    if len(size) != 2 or not all(
        isinstance(s, int | np.integer) and s > 0 for s in size
    ):
        raise ValueError(f"size must be (W, H) with positive integers; got {size!r}")
    return int(size[0]), int(size[1])


def _resolve(path: PathLike, data_dir: PathLike | None) -> Path:
    rel = Path(path)
    if not rel.is_absolute() and rel.as_posix() in get(_NAME).checksums:
        return locate(_NAME, rel.as_posix(), data_dir=data_dir)
    if not rel.is_file():
        raise DatasetNotFoundError(_NAME, rel, get(_NAME).how_to_get(), what="image")
    return rel


# -------------------------------------------------------------------------------- label
# embeddings


def _vocab(vocab: str) -> tuple[str, ...]:
    if vocab not in VOCABS:
        raise ValueError(
            f"unknown label vocabulary {vocab!r}; accepted: "
            f"{', '.join(map(repr, VOCABS))}"
        )
    return VOCABS[vocab]


def _read_labels(vocab: str, data_dir: PathLike | None) -> list[str]:
    """Row order of the ``<vocab>_*.pkl`` files, checked against the vocabulary's class
    names.
    """
    expected = _vocab(vocab)
    path = locate(_EMB, f"{vocab}_labels.txt", data_dir=data_dir)
    names: list[str] = []
    for lineno, raw in enumerate(
        path.read_text(encoding="utf-8").splitlines(), start=1
    ):
        name = raw.strip()
        if not name:
            raise MalformedDataError(path, "empty line", line=lineno)
        if name not in expected:
            raise MalformedDataError(
                path, f"{name!r} is not a {vocab} class name", line=lineno
            )
        if name in names:
            raise MalformedDataError(path, f"{name!r} is listed twice", line=lineno)
        names.append(name)
    if len(names) != len(expected):
        missing = [c for c in expected if c not in names]
        raise MalformedDataError(
            path, f"{len(names)} names, expected {len(expected)}; missing {missing}"
        )
    return names


def load_label_embeddings(
    vocab: str = "coco", data_dir: PathLike | None = None
) -> pd.DataFrame:
    """ML-GCN's 300-d GloVe vector of each class name of ``vocab`` (``"coco"`` or
    ``"voc"``).

    Returns a DataFrame indexed by label name (index ``label``, in the file's
    alphabetical row order from ``<vocab>_labels.txt``) with 300 float32 columns
    ``0..299``: shape (80, 300) for COCO, (20, 300) for VOC. The vectors are raw GloVe
    (not normalised). The pickle ``<vocab>_glove_word2vec.pkl`` is read with
    :func:`load_numpy_pickle` (numpy arrays only).

    Raises ``ValueError`` for an unknown vocabulary; :class:`UnsafePickleError` when the
    pickle asks for anything but numpy arrays; :class:`MalformedDataError` when the
    array is not (n_labels, 300) numeric or not finite, or when the labels file is not
    the vocabulary's names (file and line); :class:`DatasetNotFoundError` /
    :class:`ChecksumMismatchError` from :func:`locate`.

    Used by the multi-label few-shot chapter.
    """
    names = _read_labels(vocab, data_dir)
    path = locate(_EMB, f"{vocab}_glove_word2vec.pkl", data_dir=data_dir)
    arr = load_numpy_pickle(path)
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise MalformedDataError(
            path, f"expected one numeric array, found {type(arr).__name__}"
        )
    if arr.shape != (len(names), EMBEDDING_DIM):
        raise MalformedDataError(
            path,
            f"array shape {arr.shape} does not match ({len(names)}, {EMBEDDING_DIM}) "
            f"from {vocab}_labels.txt",
        )
    if not np.isfinite(arr).all():
        raise MalformedDataError(path, "the array holds non-finite values")
    return pd.DataFrame(
        arr.astype(np.float32),
        index=pd.Index(names, name="label"),
        columns=pd.RangeIndex(EMBEDDING_DIM),
    )


def align_embeddings(
    names: Sequence[str], vocab: str = "coco", data_dir: PathLike | None = None
) -> np.ndarray:
    """The label vectors of ``names``, in the given order, joined by name.

    Use it to line the alphabetical embedding rows up with another order, e.g.
    ``align_embeddings(COCO_CLASSES)`` gives row i = the vector of YOLO class i. Returns
    ``(len(names), 300) float32``. Raises ``KeyError`` listing every unknown name,
    ``TypeError`` when ``names`` is a bare string, and what
    :func:`load_label_embeddings` raises.

    Used by the multi-label few-shot chapter.
    """
    if isinstance(names, str):
        raise TypeError(
            f"names must be a sequence of label names, not the string {names!r}"
        )
    names = list(names)
    emb = load_label_embeddings(vocab, data_dir=data_dir)
    unknown = [n for n in names if n not in emb.index]
    if unknown:
        raise KeyError(
            f"unknown {vocab} label names {unknown}; known: {', '.join(emb.index)}"
        )
    return emb.loc[names].to_numpy(dtype=np.float32).reshape(len(names), EMBEDDING_DIM)


def load_label_cooccurrence(
    vocab: str = "coco", data_dir: PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ML-GCN's label co-occurrence counts from ``<vocab>_adj.pkl`` (a dict with
    ``nums`` and ``adj``).

    Returns ``(nums, adj)``: ``nums`` ``(C,) int64`` (training images that contain label
    i) and ``adj`` ``(C, C) int64`` (images that contain both i and j), rows in the
    alphabetical order of ``<vocab>_labels.txt`` (C = 80 for COCO, 20 for VOC). Raises
    ``ValueError`` for an unknown vocabulary, :class:`UnsafePickleError` for a pickle
    that holds anything but arrays, :class:`MalformedDataError` for missing keys, wrong
    shapes, non-integer or negative counts.

    Used by the multi-label few-shot chapter.
    """
    names = _read_labels(vocab, data_dir)
    c = len(names)
    path = locate(_EMB, f"{vocab}_adj.pkl", data_dir=data_dir)
    obj = load_numpy_pickle(path)
    if not isinstance(obj, dict) or not {"nums", "adj"} <= obj.keys():
        raise MalformedDataError(
            path, "expected a dict with the arrays 'nums' and 'adj'"
        )
    out = []
    for key, shape in (("nums", (c,)), ("adj", (c, c))):
        a = obj[key]
        if not isinstance(a, np.ndarray) or a.shape != shape:
            raise MalformedDataError(
                path,
                f"{key!r} must be an array of shape {shape}, found "
                f"{getattr(a, 'shape', type(a).__name__)}",
            )
        if a.dtype.kind not in "iu" or (a < 0).any():
            raise MalformedDataError(
                path, f"{key!r} must hold non-negative integer counts (dtype {a.dtype})"
            )
        out.append(a.astype(np.int64))
    return out[0], out[1]
