"""Builders of the few files that the data mirror's curators wrote themselves.

``python -m minilib.data fetch`` downloads every file that exists upstream and rebuilds
these from the others, byte for byte (the tests compare them with the registry's
sha256). Each builder takes the dataset folder and returns the file's bytes.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .names import COCO_CLASSES, DAVIS2017_VAL, VOC_CLASSES


def _lines(names) -> bytes:
    return "".join(f"{n}\n" for n in names).encode()


def coco_labels_txt(root: Path) -> bytes:
    """Row order of the ML-GCN COCO files: the 80 category names, sorted
    alphabetically.
    """
    return _lines(sorted(COCO_CLASSES))


def voc_labels_txt(root: Path) -> bytes:
    """Row order of the ML-GCN VOC files: the standard VOC order (also alphabetical)."""
    return _lines(VOC_CLASSES)


def davis2017_val_txt(root: Path) -> bytes:
    """The official DAVIS 2017 val list (30 sequences)."""
    return _lines(DAVIS2017_VAL)


def _present(root: Path, listing: str) -> bytes:
    names = (root / "ImageSets" / "2017" / listing).read_text().split()
    return _lines(n for n in names if (root / "JPEGImages" / "480p" / n).is_dir())


def davis2017_train_present_txt(root: Path) -> bytes:
    """The train sequences of ``train.txt`` whose frames are in this folder."""
    return _present(root, "train.txt")


def davis2017_val_present_txt(root: Path) -> bytes:
    """The val sequences of ``val.txt`` whose frames are in this folder (needs
    ``val.txt`` first).
    """
    return _present(root, "val.txt")


EBHI_NAME = re.compile(
    r"GT(?P<prefix>[A-Za-z]*)(?P<case_id>\d+)-(?P<section>\d+)-400-(?P<patch>\d+)"
)


def ebhi_manifest_csv(root: Path) -> bytes:
    """One row per image+mask pair: paths, class, and the case, section, patch and group
    parsed from the name.

    ``group`` (the name without its patch index) stands for one slide.
    """
    rows = []
    for image in sorted((root / "EBHI-SEG").glob("*/image/*.png")):
        cls = image.parent.parent.name
        m = EBHI_NAME.fullmatch(image.stem)
        if m is None:
            raise ValueError(f"unexpected EBHI-Seg file name: {image}")
        rel = image.relative_to(root).as_posix()
        mask = f"EBHI-SEG/{cls}/label/{image.name}"
        rows.append(
            [
                rel,
                mask,
                cls,
                m["case_id"],
                m["section"],
                m["patch"],
                image.stem.rsplit("-", 1)[0],
            ]
        )
    rows.sort()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["image", "mask", "class", "case_id", "section", "patch", "group"])
    writer.writerows(rows)
    return buf.getvalue().encode()
