"""Face images with an identity and a domain label: the Yale Face Database and the
cropped Extended Yale B.

Used by the disentangled authentication chapter (identity vs. domain: lighting,
accessory, expression).

- ``yalefaces/``: 165 GIFs ``subjectNN.<condition>`` (no extension), 15 people x 11
  conditions, 320x243 grayscale. Nine images are pixel-identical to another of the same
  person (an artefact of the original database); :func:`load_yalefaces` finds them from
  the pixels (column ``duplicate_of``).
- ``extended_yaleb_cropped/``: 266 PGMs
  ``CroppedYale/yaleBNN/yaleBNN_P00A<az>E<el>.pgm``, 38 people x 7 light directions,
  168x192 grayscale. Positive azimuth lights the subject's right, the *left* half of the
  image.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .errors import DatasetNotFoundError, MalformedDataError
from .registry import get, locate

_YALE = "yalefaces"
_YALEB = "extended_yaleb_cropped"

# Condition of a Yale image (the file name's suffix) -> the kind of domain difference it
# shows.
YALE_CONDITIONS: dict[str, str] = {
    "centerlight": "lighting",
    "leftlight": "lighting",
    "rightlight": "lighting",
    "glasses": "accessory",
    "noglasses": "accessory",
    "happy": "expression",
    "sad": "expression",
    "sleepy": "expression",
    "surprised": "expression",
    "wink": "expression",
    "normal": "reference",
}

_YALE_NAME = re.compile(r"(?P<identity>subject\d{2})\.(?P<condition>[a-z]+)")
_YALEB_NAME = re.compile(
    r"CroppedYale/(?P<identity>yaleB\d{2})/(?P=identity)_"
    r"(?P<code>P00A(?P<azimuth>[+-]\d{3})E(?P<elevation>[+-]\d{2}))\.pgm"
)

PathLike = str | os.PathLike


def _files(name: str, data_dir: PathLike | None) -> tuple[list[str], list[Path]]:
    files = get(name).files
    if not files:
        raise KeyError(f"dataset {name!r} has no registered files")
    paths = locate(name, *files, data_dir=data_dir)
    return files, ([paths] if len(files) == 1 else paths)


def _pixels(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.array(im.convert("L") if im.mode != "L" else im)
    except (OSError, SyntaxError) as e:
        raise MalformedDataError(path, f"not a readable image ({e})") from None


def _pixel_hash(arr: np.ndarray) -> str:
    h = hashlib.sha256(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def load_yalefaces(data_dir: PathLike | None = None) -> pd.DataFrame:
    """The Yale Face Database, one row per image (165 rows), sorted by file name.

    Columns: ``file`` (str, the registered name such as ``"subject07.glasses"``),
    ``path`` (str, absolute, checksum-verified), ``identity`` (str, ``"subject07"``),
    ``condition`` (str, ``"glasses"``), ``domain_type`` (str: ``"lighting"``,
    ``"accessory"``, ``"expression"`` or ``"reference"``, from :data:`YALE_CONDITIONS`)
    and ``duplicate_of`` (str or missing): for an image pixel-identical to another image
    of the same person, the file name of the first of them in sorted order; missing
    otherwise. It is computed by hashing every decoded pixel array (in the book's data:
    9 images, e.g. ``subject04.sad`` -> ``subject04.normal``, ``subject02.normal`` ->
    ``subject02.noglasses``).

    Raises :class:`MalformedDataError` for a file name that is not
    ``subjectNN.<condition>`` with a known condition, or an unreadable image;
    :class:`DatasetNotFoundError` / :class:`ChecksumMismatchError` from :func:`locate`.

    Used by the disentangled authentication chapter.
    """
    files, paths = _files(_YALE, data_dir)
    rows = []
    first_of: dict[tuple[str, str], str] = {}
    for file, path in zip(files, paths, strict=True):
        m = _YALE_NAME.fullmatch(file)
        if m is None:
            raise MalformedDataError(
                path, "a Yale file name must be 'subjectNN.<condition>'"
            )
        cond = m["condition"]
        if cond not in YALE_CONDITIONS:
            raise MalformedDataError(
                path, f"unknown condition {cond!r}; known: {', '.join(YALE_CONDITIONS)}"
            )
        key = (m["identity"], _pixel_hash(_pixels(path)))
        # files are sorted: the first one seen is the first in order
        dup = first_of.setdefault(key, file)
        rows.append(
            {
                "file": file,
                "path": str(path),
                "identity": m["identity"],
                "condition": cond,
                "domain_type": YALE_CONDITIONS[cond],
                "duplicate_of": None if dup == file else dup,
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "file",
            "path",
            "identity",
            "condition",
            "domain_type",
            "duplicate_of",
        ],
    )
    df["duplicate_of"] = df["duplicate_of"].astype("string")
    return df


def load_extended_yaleb(data_dir: PathLike | None = None) -> pd.DataFrame:
    """The cropped Extended Yale B subset, one row per image (266 rows), sorted by file.

    Columns: ``file`` (str, path relative to the dataset folder,
    ``"CroppedYale/yaleB01/yaleB01_P00A+050E+00.pgm"``), ``path`` (str, absolute,
    checksum-verified), ``identity`` (str, ``"yaleB01"``), ``code`` (str,
    ``"P00A+050E+00"``), ``azimuth`` and ``elevation`` (int64 degrees, signed: positive
    azimuth = light on the subject's right, i.e. the image's left half; positive
    elevation = light above). The names are parsed with a regular expression.

    Raises :class:`MalformedDataError` for a registered name that does not match
    ``CroppedYale/yaleBNN/yaleBNN_P00A±AAAE±EE.pgm``; :class:`DatasetNotFoundError` /
    :class:`ChecksumMismatchError` from :func:`locate`.

    Used by the disentangled authentication chapter.
    """
    files, paths = _files(_YALEB, data_dir)
    rows = []
    for file, path in zip(files, paths, strict=True):
        m = _YALEB_NAME.fullmatch(file)
        if m is None:
            raise MalformedDataError(
                path, "expected a name 'CroppedYale/yaleBNN/yaleBNN_P00A±AAAE±EE.pgm'"
            )
        rows.append(
            {
                "file": file,
                "path": str(path),
                "identity": m["identity"],
                "code": m["code"],
                "azimuth": int(m["azimuth"]),
                "elevation": int(m["elevation"]),
            }
        )
    df = pd.DataFrame(
        rows, columns=["file", "path", "identity", "code", "azimuth", "elevation"]
    )
    return df.astype({"azimuth": np.int64, "elevation": np.int64})


def load_face(
    path: PathLike,
    size: tuple[int, int] | None = None,
    data_dir: PathLike | None = None,
) -> np.ndarray:
    """One face image as a grayscale ``(H, W) float32`` array in [0, 1] (pixel / 255).

    ``path`` is a ``file`` value of :func:`load_yalefaces` or
    :func:`load_extended_yaleb` (a registered name, found and checksum-verified through
    :func:`locate`) or any image path (the ``path`` column). Native sizes: Yale GIFs
    320x243 (W x H), Yale B PGMs 168x192. ``size=(W, H)`` resizes bilinearly. A colour
    image is converted to grayscale.

    Raises :class:`DatasetNotFoundError` for a missing file, :class:`MalformedDataError`
    for an unreadable one, ``ValueError`` for a bad ``size``.

    Used by the disentangled authentication chapter.
    """
    rel = Path(path)
    file = None
    if not rel.is_absolute():
        for name in (_YALE, _YALEB):
            if rel.as_posix() in get(name).checksums:
                file = locate(name, rel.as_posix(), data_dir=data_dir)
                break
    if file is None:
        if not rel.is_file():
            raise DatasetNotFoundError(
                _YALE,
                rel,
                "pass a 'file' or 'path' value of load_yalefaces or "
                "load_extended_yaleb",
                what="face image",
            )
        file = rel
    arr = _pixels(file)
    if size is not None:
        if len(size) != 2 or not all(
            isinstance(s, int | np.integer) and s > 0 for s in size
        ):
            raise ValueError(
                f"size must be (W, H) with positive integers; got {size!r}"
            )
        arr = np.asarray(
            Image.fromarray(arr).resize(
                (int(size[0]), int(size[1])), Image.Resampling.BILINEAR
            )
        )
    return arr.astype(np.float32) / np.float32(255.0)
