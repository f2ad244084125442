"""Vision dataset loaders: DAVIS 2017, COCO and its label embeddings, Yale faces,
EBHI-Seg.

Tests marked ``data`` read the real files under ``$MINILIB_DATA`` (skipped when absent)
and check the numbers that each dataset's ``SOURCE.md`` states. The others build small
generated datasets with the ``fake_dataset`` fixture to exercise the error paths.
"""

from __future__ import annotations

import collections
import functools
import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from minilib.data import (
    ChecksumMismatchError,
    DatasetNotFoundError,
    MalformedDataError,
    UnsafePickleError,
    coco,
    davis2017,
    faces,
    histology,
)
from minilib.data.registry import matching

# --------------------------------------------------------------------------------------
# helpers


@functools.cache
def _coco(split: str, source: str, root: Path) -> pd.DataFrame:
    return coco.load_coco(split, source, data_dir=root)


@functools.cache
def _yale(root: Path) -> pd.DataFrame:
    return faces.load_yalefaces(data_dir=root)


@functools.cache
def _yaleb(root: Path) -> pd.DataFrame:
    return faces.load_extended_yaleb(data_dir=root)


@functools.cache
def _ebhi(root: Path) -> pd.DataFrame:
    return histology.load_ebhi_seg(data_dir=root)


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpg(w: int = 8, h: int = 6, value: int = 128) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (value, value // 2, 255 - value)).save(buf, format="JPEG")
    return buf.getvalue()


def _gif(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="GIF")
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# DAVIS

DAVIS_TABLE = {  # SOURCE.md: sequence -> (split, frames)
    "boat": ("train", 75),
    "dance-jump": ("train", 60),
    "dog-agility": ("train", 25),
    "drift-turn": ("train", 64),
    "rollerblade": ("train", 35),
    "blackswan": ("val", 50),
    "car-shadow": ("val", 40),
    "dog": ("val", 60),
    "drift-chicane": ("val", 52),
    "libby": ("val", 49),
}


@pytest.mark.data
def test_davis_splits(data_root):
    train = davis2017.list_sequences("train", data_root)
    val = davis2017.list_sequences("val", data_root)
    assert train == [n for n, (s, _) in DAVIS_TABLE.items() if s == "train"]
    assert val == [n for n, (s, _) in DAVIS_TABLE.items() if s == "val"]
    assert davis2017.list_sequences(data_dir=data_root) == train + val
    assert set(val) <= set(davis2017.DAVIS2017_VAL)
    with pytest.raises(ValueError, match=r"'train', 'val', 'all'"):
        davis2017.list_sequences("test", data_root)


@pytest.mark.data
def test_davis_sequences_native(data_root):
    total = 0
    for name, (split, n) in DAVIS_TABLE.items():
        seq = davis2017.load_sequence(name, data_dir=data_root)
        assert (seq.name, seq.split, len(seq), seq.num_objects) == (name, split, n, 1)
        assert seq.frame_names == [f"{i:05d}" for i in range(n)]
        assert seq.frames.shape == (n, 480, 854, 3) and seq.frames.dtype == np.uint8
        assert seq.masks.shape == (n, 480, 854) and seq.masks.dtype == np.uint8
        assert set(np.unique(seq.masks)) == {0, 1}
        assert seq.masks.reshape(n, -1).any(axis=1).all(), (
            f"{name}: a frame has an empty mask"
        )
        total += n
    assert total == 510


@pytest.mark.data
def test_davis_palette_masks_equal_binary_ids(data_root):
    seq = davis2017.load_sequence("blackswan", frames=slice(0, 6), data_dir=data_root)
    rels = matching("davis2017", "Annotations/480p/blackswan/*.png")
    assert (
        [Path(r).stem for r in rels]
        == seq.frame_names
        == [f"{i:05d}" for i in range(6)]
    )
    for rel, ids in zip(rels, seq.masks, strict=True):
        palette = davis2017.load_palette_annotation(rel, data_dir=data_root)
        assert palette.shape == (480, 854) and palette.dtype == np.uint8
        assert set(np.unique(palette)) == {0, 1}
        assert int((palette != ids).sum()) == 0
    binary = davis2017.load_palette_annotation  # a mode L mask is refused, not misread
    with pytest.raises(MalformedDataError, match="mode 'L'"):
        binary("Annotations_davis2016/480p/blackswan/00000.png", data_dir=data_root)


@pytest.mark.data
def test_davis_resized_all_sequences_binary(data_root):
    seqs = [
        davis2017.load_sequence(n, size=(214, 120), data_dir=data_root)
        for n in DAVIS_TABLE
    ]
    for seq in seqs:
        n = DAVIS_TABLE[seq.name][1]
        assert seq.frames.shape == (n, 120, 214, 3)
        assert seq.masks.shape == (n, 120, 214)
        assert set(np.unique(seq.masks)) == {0, 1}


@pytest.mark.data
def test_davis_native_sequence(data_root):
    seq = davis2017.load_sequence("dog", data_dir=data_root)
    assert len(seq) == 60
    assert seq.frames.shape == (60, 480, 854, 3)


@pytest.mark.data
def test_davis_frame_selection_and_unknown_names(data_root):
    seq = davis2017.load_sequence("dog-agility", frames=[0, -1, 3], data_dir=data_root)
    assert seq.frame_names == ["00000", "00024", "00003"] and seq.frames.shape[0] == 3
    seq = davis2017.load_sequence(
        "dog-agility", frames=slice(10, 20, 5), data_dir=data_root
    )
    assert seq.frame_names == ["00010", "00015"]
    with pytest.raises(IndexError):
        davis2017.load_sequence("dog-agility", frames=[25], data_dir=data_root)
    with pytest.raises(ValueError, match="selects no frame"):
        davis2017.load_sequence(
            "dog-agility", frames=slice(30, None), data_dir=data_root
        )
    with pytest.raises(ValueError, match="not in this subset.*blackswan"):
        davis2017.load_sequence("bear", data_dir=data_root)
    with pytest.raises(ValueError, match="available: boat"):
        davis2017.load_sequence("no-such-video", data_dir=data_root)


def test_binary_to_ids():
    mask = np.array([[0, 255], [128, 127]], dtype=np.uint8)
    ids = davis2017.binary_to_ids(mask)
    assert ids.dtype == np.uint8 and ids.tolist() == [[0, 1], [1, 0]]
    assert davis2017.binary_to_ids(Image.fromarray(mask)).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="2-D"):
        davis2017.binary_to_ids(np.zeros((2, 2, 3)))


def _fake_davis(
    fake_dataset,
    frames=("00000", "00001", "00002"),
    masks=None,
    mask_mode="L",
    checksums=None,
):
    masks = frames if masks is None else masks
    files = {
        "ImageSets/2017/train_present.txt": b"clip\n",
        "ImageSets/2017/val_present.txt": b"",
    }
    for f in frames:
        files[f"JPEGImages/480p/clip/{f}.jpg"] = _jpg(10, 6)
    m = np.zeros((6, 10), np.uint8)
    m[2:4, 3:7] = 255
    for f in masks:
        img = (
            Image.fromarray(m) if mask_mode == "L" else Image.fromarray(m).convert("P")
        )
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        files[f"Annotations_davis2016/480p/clip/{f}.png"] = buf.getvalue()
    return fake_dataset("davis2017", files, checksums=checksums)


def test_davis_fake_sequence_loads(fake_dataset):
    _fake_davis(fake_dataset)
    assert (
        davis2017.list_sequences() == ["clip"] and davis2017.list_sequences("val") == []
    )
    seq = davis2017.load_sequence("clip")
    assert seq.frames.shape == (3, 6, 10, 3) and seq.masks.shape == (3, 6, 10)
    assert int(seq.masks.sum()) == 3 * 8 and seq.split == "train"
    with pytest.raises(ValueError, match="available: clip"):
        davis2017.load_sequence("other")


def test_davis_fake_gap_in_frame_names(fake_dataset):
    _fake_davis(fake_dataset, frames=("00000", "00002"))
    with pytest.raises(MalformedDataError, match=r"not contiguous.*00001"):
        davis2017.load_sequence("clip")


def test_davis_fake_frame_without_mask(fake_dataset):
    _fake_davis(fake_dataset, masks=("00000", "00001"))
    with pytest.raises(MalformedDataError, match=r"without a mask \['00002'\]"):
        davis2017.load_sequence("clip")


def test_davis_fake_palette_mask_in_binary_folder(fake_dataset):
    _fake_davis(fake_dataset, mask_mode="P")
    with pytest.raises(MalformedDataError, match="mode 'P'"):
        davis2017.load_sequence("clip")


def test_davis_fake_corrupt_frame(fake_dataset):
    _fake_davis(fake_dataset, checksums={"JPEGImages/480p/clip/00001.jpg": "0" * 64})
    with pytest.raises(ChecksumMismatchError, match="00001.jpg"):
        davis2017.load_sequence("clip")


def test_missing_data_root_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="fetch davis2017"):
        davis2017.list_sequences(data_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="dataset 'coco'"):
        coco.load_coco(data_dir=tmp_path)


# --------------------------------------------------------------------------------------
# COCO

# SOURCE.md: split -> (mean, max, min distinct labels per image, categories present,
# boxes)
COCO_SPLITS = {
    "train2017": (2.83, 11, 0, 71, 929),
    "val2017": (2.91, 10, 1, 73, 898),
}


@pytest.mark.data
@pytest.mark.parametrize("split", list(COCO_SPLITS))
def test_coco_split_numbers(data_root, split):
    df = _coco(split, "yolo", data_root)
    mean, mx, mn, present, boxes = COCO_SPLITS[split]
    n = df["labels"].map(len)
    assert len(df) == 128 and df["image_id"].is_unique
    assert (round(n.mean(), 2), n.max(), n.min()) == (mean, mx, mn)
    assert len(set().union(*df["labels"])) == present
    assert df["n_boxes"].sum() == boxes
    assert list(df.columns) == [
        "image_id",
        "file",
        "path",
        "width",
        "height",
        "labels",
        "n_boxes",
    ]
    assert df["image_id"].dtype == np.int64 and df["n_boxes"].dtype == np.int64
    order = {c: i for i, c in enumerate(coco.COCO_CLASSES)}
    for labels in df["labels"]:
        assert isinstance(labels, tuple) and list(labels) == sorted(
            set(labels), key=order.__getitem__
        )
    assert all(Path(p).is_file() and Path(p).is_absolute() for p in df["path"])
    assert (df["file"].map(lambda f: int(Path(f).stem)) == df["image_id"]).all()


@pytest.mark.data
def test_coco_both_splits_together(data_root):
    df = pd.concat(
        [_coco(s, "yolo", data_root) for s in COCO_SPLITS], ignore_index=True
    )
    n = df["labels"].map(len)
    assert (
        len(df) == 256
        and round(n.mean(), 2) == 2.87
        and n.max() == 11
        and (n >= 2).sum() == 213
    )
    present = set().union(*df["labels"])
    assert len(present) == 76
    assert set(coco.COCO_CLASSES) - present == {
        "parking meter",
        "cow",
        "toaster",
        "hair drier",
    }
    per_cat = pd.Series([c for labels in df["labels"] for c in labels]).value_counts()
    assert (per_cat.min(), per_cat.median(), per_cat.max(), per_cat.idxmax()) == (
        2,
        7,
        134,
        "person",
    )
    assert ((per_cat >= 5).sum(), (per_cat >= 6).sum(), (per_cat >= 10).sum()) == (
        60,
        50,
        21,
    )
    # Sizes, read from the headers. SOURCE.md says "long side 640"; in fact 212 of the
    # 256 images have a long side of 640 and the others 320 to 612 (widths 320-640 and
    # heights 218-640 as stated).
    long_side = df[["width", "height"]].max(axis=1)
    assert (
        long_side.max() == 640
        and (long_side == 640).sum() == 212
        and long_side.min() == 320
    )
    assert (
        df["width"].min(),
        df["width"].max(),
        df["height"].min(),
        df["height"].max(),
    ) == (320, 640, 218, 640)


@pytest.mark.data
def test_coco_quirks(data_root):
    train = _coco("train2017", "yolo", data_root).set_index("image_id")
    for image_id in (250, 508):  # no label file: every label negative
        assert (
            train.loc[image_id, "labels"] == () and train.loc[image_id, "n_boxes"] == 0
        )
    assert not {656, 659} & set(train.index)  # orphan label files give no row
    assert matching("coco", "labels/train2017/00000000065[69].txt")
    val = _coco("val2017", "yolo", data_root)
    assert (val["labels"].map(len) > 0).all()


@pytest.mark.data
def test_coco_yolo_equals_instances(data_root):
    yolo = _coco("train2017", "yolo", data_root)
    inst = _coco("train2017", "instances", data_root)
    assert len(inst) == 128
    # same labels, same non-crowd box counts, same sizes
    pd.testing.assert_frame_equal(yolo, inst)


@pytest.mark.data
def test_coco_image_loading(data_root):
    df = _coco("val2017", "yolo", data_root)
    row = df.iloc[3]
    img = coco.load_image(row["file"], data_dir=data_root)
    assert img.mode == "RGB" and img.size == (row["width"], row["height"])
    assert coco.load_image(row["path"], size=(64, 48)).size == (64, 48)
    with pytest.raises(DatasetNotFoundError):
        coco.load_image("images/val2017/nope.jpg")


@pytest.mark.data
def test_coco_split_and_source_errors(data_root):
    with pytest.raises(ValueError, match="only for 'train2017'"):
        coco.load_coco("val2017", "instances", data_dir=data_root)
    with pytest.raises(ValueError, match="'train2017', 'val2017'"):
        coco.load_coco("test2017", data_dir=data_root)
    with pytest.raises(ValueError, match="'yolo', 'instances'"):
        coco.load_coco(source="panoptic", data_dir=data_root)


@pytest.mark.data
def test_coco_multi_hot(data_root):
    df = _coco("train2017", "yolo", data_root)
    y = coco.multi_hot(df["labels"])
    assert y.shape == (128, 80) and y.dtype == np.uint8
    assert (y.sum(axis=1) == df["labels"].map(len).to_numpy()).all()
    assert y[:, coco.COCO_CLASSES.index("person")].sum() == sum(
        "person" in labels for labels in df["labels"]
    )


def test_multi_hot_unknown_and_custom_classes():
    y = coco.multi_hot([("cat",), (), ("dog", "cat")], classes=("cat", "dog"))
    assert y.tolist() == [[1, 0], [0, 0], [1, 1]]
    with pytest.raises(KeyError, match="'kitten'"):
        coco.multi_hot([("cat",), ("kitten",)])
    with pytest.raises(TypeError):
        coco.multi_hot(["cat"])


def _fake_coco(
    fake_dataset, label_text: str | None, *, orphan: bool = False, checksums=None
):
    files = {
        "images/train2017/000000000001.jpg": _jpg(8, 6),
        "images/train2017/000000000002.jpg": _jpg(6, 8),
    }
    if label_text is not None:
        files["labels/train2017/000000000001.txt"] = label_text.encode()
    if orphan:
        files["labels/train2017/000000000003.txt"] = b"0 0.5 0.5 0.5 0.5\n"
    return fake_dataset("coco", files, checksums=checksums)


def test_coco_fake_good_labels(fake_dataset):
    _fake_coco(
        fake_dataset,
        "16 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.1 0.1\n16 0.3 0.3 1 1\n",
        orphan=True,
    )
    df = coco.load_coco()
    # the orphan label file (image 3) makes no row
    assert df["image_id"].tolist() == [1, 2]
    assert df["labels"].tolist() == [("person", "dog"), ()]
    assert df["n_boxes"].tolist() == [3, 0]
    assert df[["width", "height"]].to_numpy().tolist() == [[8, 6], [6, 8]]


@pytest.mark.parametrize(
    "bad, why",
    [
        ("0 0.5 0.5 0.5", "expected 5 fields"),
        ("80 0.5 0.5 0.5 0.5", "class 80 is outside"),
        ("0 1.5 0.5 0.5 0.5", "x_center 1.5 is outside"),
        ("0 0.5 0.5 nan 0.5", "width nan is outside"),
        ("cat 0.5 0.5 0.5 0.5", "not an integer"),
    ],
)
def test_coco_fake_bad_yolo_line(fake_dataset, bad, why):
    _fake_coco(fake_dataset, f"1 0.5 0.5 0.2 0.2\n{bad}\n")
    with pytest.raises(MalformedDataError, match=why) as err:
        coco.load_coco()
    assert err.value.line == 2
    assert err.value.path.name == "000000000001.txt"
    assert "000000000001.txt, line 2" in str(err.value)


def test_coco_fake_corrupt_image(fake_dataset):
    _fake_coco(
        fake_dataset,
        "1 0.5 0.5 0.2 0.2\n",
        checksums={"images/train2017/000000000002.jpg": "f" * 64},
    )
    with pytest.raises(ChecksumMismatchError, match="000000000002.jpg"):
        coco.load_coco()


# ------------------------------------------------------------------------------- label
# embeddings


@pytest.mark.data
def test_label_embeddings_shapes_and_order(data_root):
    emb = coco.load_label_embeddings(data_dir=data_root)
    assert emb.shape == (80, 300) and (emb.dtypes == np.float32).all()
    assert list(emb.index) == sorted(coco.COCO_CLASSES) and emb.index[20] == "cat"
    voc = coco.load_label_embeddings("voc", data_dir=data_root)
    assert voc.shape == (20, 300) and list(voc.index) == list(coco.VOC_CLASSES)
    with pytest.raises(ValueError, match="'coco', 'voc'"):
        coco.load_label_embeddings("imagenet", data_dir=data_root)


@pytest.mark.data
def test_align_embeddings_by_name(data_root):
    emb = coco.load_label_embeddings(data_dir=data_root)
    aligned = coco.align_embeddings(coco.COCO_CLASSES, data_dir=data_root)
    assert aligned.shape == (80, 300) and aligned.dtype == np.float32
    assert coco.COCO_CLASSES[15] == "cat"
    # YOLO 15 = alphabetical 20
    np.testing.assert_array_equal(aligned[15], emb.iloc[20].to_numpy())
    for i, name in enumerate(coco.COCO_CLASSES):
        np.testing.assert_array_equal(aligned[i], emb.loc[name].to_numpy())
    two = coco.align_embeddings(["dog", "cat"], data_dir=data_root)
    np.testing.assert_array_equal(two, emb.loc[["dog", "cat"]].to_numpy())

    def cos(a, b):
        v = coco.align_embeddings([a, b], data_dir=data_root).astype(np.float64)
        return v[0] @ v[1] / np.linalg.norm(v[0]) / np.linalg.norm(v[1])

    assert round(cos("cat", "dog"), 2) == 0.68
    assert round(cos("car", "truck"), 2) == 0.74
    with pytest.raises(KeyError, match=r"\['kitten', 'tvmonitor'\]"):
        coco.align_embeddings(["cat", "kitten", "tvmonitor"], data_dir=data_root)


@pytest.mark.data
def test_label_cooccurrence(data_root):
    nums, adj = coco.load_label_cooccurrence(data_dir=data_root)
    assert (
        nums.shape == (80,)
        and adj.shape == (80, 80)
        and nums.dtype == adj.dtype == np.int64
    )
    assert (
        nums.argmax() == 49
        and nums[49] == 45174
        and sorted(coco.COCO_CLASSES)[49] == "person"
    )
    assert (adj == adj.T).all()
    nums, adj = coco.load_label_cooccurrence("voc", data_dir=data_root)
    assert nums.shape == (20,) and adj.shape == (20, 20)
    assert nums.argmax() == 14 and nums[14] == 2008


def _labels_txt() -> bytes:
    return "".join(f"{c}\n" for c in sorted(coco.COCO_CLASSES)).encode()


def test_label_embeddings_refuse_a_non_numpy_pickle(fake_dataset):
    # A harmless global: the unpickler must refuse collections.OrderedDict before
    # building it.
    payload = pickle.dumps(collections.OrderedDict(a=1), protocol=3)
    fake_dataset(
        "label_embeddings",
        {
            "coco_labels.txt": _labels_txt(),
            "coco_glove_word2vec.pkl": payload,
            "coco_adj.pkl": payload,
        },
    )
    with pytest.raises(UnsafePickleError, match="collections.OrderedDict"):
        coco.load_label_embeddings()
    with pytest.raises(UnsafePickleError):
        coco.load_label_cooccurrence()


def test_label_embeddings_fake_shape_and_labels_errors(fake_dataset):
    wrong = pickle.dumps(np.zeros((79, 300), np.float32), protocol=3)
    fake_dataset(
        "label_embeddings",
        {
            "coco_labels.txt": _labels_txt(),
            "coco_glove_word2vec.pkl": wrong,
            "coco_adj.pkl": pickle.dumps({"nums": np.zeros(80, np.int64)}),
        },
    )
    with pytest.raises(MalformedDataError, match=r"\(79, 300\)"):
        coco.load_label_embeddings()
    with pytest.raises(MalformedDataError, match="'nums' and 'adj'"):
        coco.load_label_cooccurrence()
    bad_labels = _labels_txt().replace(b"cat\n", b"kitty\n")
    fake_dataset(
        "label_embeddings",
        {
            "coco_labels.txt": bad_labels,
            "coco_glove_word2vec.pkl": pickle.dumps(np.zeros((80, 300), np.float32)),
        },
    )
    with pytest.raises(MalformedDataError, match="line 21"):
        coco.load_label_embeddings()


# --------------------------------------------------------------------------------------
# faces

# SOURCE.md: image -> the first, in sorted order, of its pixel-identical pair
YALE_DUPLICATES = {
    "subject04.sad": "subject04.normal",
    **{
        f"subject{n:02d}.normal": f"subject{n:02d}.noglasses"
        for n in (2, 3, 6, 7, 9, 12, 14)
    },
    "subject08.normal": "subject08.glasses",
}


@pytest.mark.data
def test_yalefaces_table_and_duplicates(data_root):
    df = _yale(data_root)
    assert len(df) == 165 and df["identity"].nunique() == 15
    assert (
        df.groupby("identity")["condition"].apply(set) == set(faces.YALE_CONDITIONS)
    ).all()
    assert (df["domain_type"] == df["condition"].map(faces.YALE_CONDITIONS)).all()
    assert df["domain_type"].value_counts().to_dict() == {
        "expression": 75,
        "lighting": 45,
        "accessory": 30,
        "reference": 15,
    }
    dups = df[df["duplicate_of"].notna()]
    assert dict(zip(dups["file"], dups["duplicate_of"], strict=True)) == YALE_DUPLICATES
    with Image.open(df["path"].iloc[0]) as im:
        assert (im.size, im.mode) == ((320, 243), "L")
    face = faces.load_face(df["file"].iloc[0], data_dir=data_root)
    assert (
        face.shape == (243, 320)
        and face.dtype == np.float32
        and 0 <= face.min()
        and face.max() <= 1
    )
    assert faces.load_face(df["path"].iloc[1], size=(64, 48)).shape == (48, 64)


@pytest.mark.data
def test_extended_yaleb_table_and_light_sign(data_root):
    df = _yaleb(data_root)
    assert (
        len(df) == 266
        and df["identity"].nunique() == 38
        and "yaleB14" not in set(df["identity"])
    )
    assert (df.groupby("identity").size() == 7).all()
    assert sorted(set(zip(df["azimuth"], df["elevation"], strict=True))) == [
        (-85, 20),
        (-50, 0),
        (0, -35),
        (0, 0),
        (0, 45),
        (50, 0),
        (85, 20),
    ]
    assert df["azimuth"].dtype == np.int64 and df["elevation"].dtype == np.int64
    assert df.loc[0, "code"] == "P00A+000E+00" and df.loc[0, "identity"] == "yaleB01"
    with Image.open(df["path"].iloc[0]) as im:
        assert (im.size, im.mode) == ((168, 192), "L")
    means = {}
    for az in (50, -50):
        rows = df[(df["azimuth"] == az) & (df["elevation"] == 0)]
        stack = (
            np.stack([faces.load_face(f, data_dir=data_root) for f in rows["file"]])
            * 255
        )
        assert stack.shape == (38, 192, 168)
        means[az] = (round(stack[:, :, :84].mean()), round(stack[:, :, 84:].mean()))
    # positive azimuth lights the image's left half
    assert means == {50: (122, 29), -50: (33, 146)}


def test_yalefaces_fake_duplicates_from_pixels(fake_dataset):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    b = a[::-1].copy()
    fake_dataset(
        "yalefaces",
        {
            "subject01.normal": _gif(a),
            "subject01.noglasses": _png(
                a
            ),  # same pixels, other bytes: still a duplicate
            "subject01.happy": _gif(b),
            "subject02.normal": _gif(
                a
            ),  # same pixels but another person: not a duplicate
        },
    )
    df = faces.load_yalefaces().set_index("file")
    assert df["duplicate_of"].dropna().to_dict() == {
        "subject01.normal": "subject01.noglasses"
    }


def test_yalefaces_fake_unknown_condition(fake_dataset):
    fake_dataset("yalefaces", {"subject01.angry": _gif(np.zeros((3, 4), np.uint8))})
    with pytest.raises(MalformedDataError, match="unknown condition 'angry'"):
        faces.load_yalefaces()


def test_extended_yaleb_fake_bad_name(fake_dataset):
    img = _png(np.zeros((4, 3), np.uint8))
    fake_dataset(
        "extended_yaleb_cropped",
        {
            "CroppedYale/yaleB01/yaleB01_P00A+050E+00.pgm": img,
            "CroppedYale/yaleB01/yaleB01_P00A+50E+00.pgm": img,
        },
    )
    with pytest.raises(MalformedDataError, match=r"P00A\+50E\+00\.pgm"):
        faces.load_extended_yaleb()


# --------------------------------------------------------------------------------------
# histology


@pytest.mark.data
def test_ebhi_counts_groups_and_masks(data_root):
    df = _ebhi(data_root)
    assert len(df) == 267 and histology.EBHI_CLASSES[0] == "Normal"
    counts = df["class"].value_counts().reindex(histology.EBHI_CLASSES)
    assert counts.tolist() == [76, 30, 34, 31, 16, 80]
    groups = df.groupby("class")["group"].nunique().reindex(histology.EBHI_CLASSES)
    assert groups.tolist() == [22, 11, 10, 8, 4, 11]
    g = histology.ebhi_groups(df)
    assert len(g) == 65 and g["n_patches"].sum() == 267
    mixed = g[g["mixed"]]
    assert mixed["group"].tolist() == ["GTxc2012827-1-400"]
    assert mixed["classes"].iloc[0] == ("Normal", "Low-grade IN")
    names = df["image"].map(lambda p: Path(p).name)
    assert sorted(names[names.duplicated()]) == [
        "GTxc2012827-1-400-001.png",
        "GTxc2012827-1-400-002.png",
    ]
    assert df.loc[0, "patch"] == "001" and df["patch"].str.len().eq(3).all()
    fractions = {}
    for i, row in df.iterrows():
        image, mask = histology.load_ebhi_pair(row, data_dir=data_root)
        if i == 0:
            assert (image.mode, image.size, mask.shape, mask.dtype) == (
                "RGB",
                (224, 224),
                (224, 224),
                bool,
            )
        assert mask.any(), f"empty mask: {row['mask']}"
        fractions[i] = mask.mean()
    fg = pd.Series(fractions)
    per_class = fg.groupby(df["class"]).mean()
    assert (
        round(per_class["Normal"], 2) == 0.61
        and round(per_class["Adenocarcinoma"], 2) == 0.72
    )
    assert round(fg.min(), 2) == 0.29 and fg.max() == 1.0
    image, mask = histology.load_ebhi_pair(-1, data_dir=data_root)
    assert image.size == (224, 224)


def _fake_ebhi(fake_dataset, classes, edit=lambda text: text):
    header = "image,mask,class,case_id,section,patch,group\n"
    files, lines = {}, [header]
    img = _png(np.full((4, 4, 3), 200, np.uint8))
    mask = _png(np.full((4, 4), 255, np.uint8))
    for k, cls in enumerate(classes, start=1):
        folder = cls if cls in histology.EBHI_CLASSES else "Normal"
        name = f"GT2012001-1-400-{k:03d}.png"
        files[f"EBHI-SEG/{folder}/image/{name}"] = img
        files[f"EBHI-SEG/{folder}/label/{name}"] = mask
        lines.append(
            f"EBHI-SEG/{folder}/image/{name},EBHI-SEG/{folder}/label/{name},{cls},2012001,1,{k:03d},"
            f"GT2012001-1-400\n"
        )
    files["manifest.csv"] = edit("".join(lines)).encode()
    return fake_dataset("ebhi_seg", files)


def test_ebhi_fake_manifest_loads(fake_dataset):
    _fake_ebhi(fake_dataset, ["Normal", "Polyp"])
    df = histology.load_ebhi_seg()
    assert (
        df["patch"].tolist() == ["001", "002"]
        and df["case_id"].tolist() == ["2012001"] * 2
    )
    image, mask = histology.load_ebhi_pair(1)
    assert image.size == (4, 4) and mask.all()
    g = histology.ebhi_groups(df)
    assert g.to_dict("records") == [
        {
            "group": "GT2012001-1-400",
            "n_patches": 2,
            "classes": ("Normal", "Polyp"),
            "mixed": True,
        }
    ]


def test_ebhi_fake_unknown_class_names_line_3(fake_dataset):
    _fake_ebhi(fake_dataset, ["Normal", "Gastritis", "Polyp"])
    with pytest.raises(MalformedDataError, match="unknown class 'Gastritis'") as err:
        histology.load_ebhi_seg()
    assert err.value.line == 3 and "manifest.csv, line 3" in str(err.value)


def test_ebhi_fake_unregistered_image(fake_dataset):
    _fake_ebhi(
        fake_dataset,
        ["Normal", "Polyp"],
        edit=lambda text: text.replace("001.png,EBHI", "009.png,EBHI", 1),
    )
    with pytest.raises(MalformedDataError, match="not a registered file") as err:
        histology.load_ebhi_seg()
    assert err.value.line == 2
