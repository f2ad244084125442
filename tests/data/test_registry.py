"""The registry's consistency (no network) and the error paths of `locate`.

- every dataset has checksums, licence, citation, url, title, and bibkeys that
  `book/references.bib` has;
- every registered data file is produced by exactly one source or one builder, so
  `fetch` can rebuild the whole mirror;
- `locate` fails with clear messages (fake data from the `fake_dataset` fixture);
- with the real data (`$MINILIB_DATA`): every dataset verifies and every builder
  reproduces its file byte for byte.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from pathlib import Path

import pytest

from minilib.data import registry
from minilib.data.errors import ChecksumMismatchError, DatasetNotFoundError
from minilib.data.fetch import archive_local_path, remote_url, source_covers
from minilib.data.registry import RemoteArchive, RemoteFiles
from minilib.data.verify import verify, verify_files

REPO = Path(__file__).resolve().parents[2]
NAMES = sorted(registry.DATASETS)
SHA256 = re.compile(r"[0-9a-f]{64}")


# --------------------------------------------------------------------------------------
# consistency


@pytest.mark.parametrize("name", NAMES)
def test_metadata_complete(name):
    ds = registry.DATASETS[name]
    assert ds.name == name
    for attr in ("folder", "title", "licence", "citation", "url"):
        assert getattr(ds, attr).strip(), f"{name}: empty {attr}"
    assert ds.url.startswith(("http://", "https://"))
    assert ds.bibkeys, f"{name}: no bibkeys"
    assert ds.sources or ds.builders, f"{name}: no way to fetch it"
    assert not Path(ds.folder).is_absolute() and ".." not in Path(ds.folder).parts


@pytest.mark.parametrize("name", NAMES)
def test_checksum_file(name):
    sums = registry._read_checksums(name)
    ds = registry.DATASETS[name]
    assert ds.files, f"{name}: no registered data file"
    for rel, digest in sums.items():
        assert SHA256.fullmatch(digest), f"{name}: bad digest for {rel}"
        assert (
            rel == rel.strip()
            and not rel.startswith(("/", "./"))
            and ".." not in rel.split("/")
        ), rel
    assert set(ds.builders) <= set(sums), f"{name}: builder outputs without sha256"


def test_folders_distinct():
    folders = [ds.folder for ds in registry.DATASETS.values()]
    assert len(set(folders)) == len(folders)
    for a in folders:
        for b in folders:
            assert a == b or not b.startswith(a + "/"), f"{b} is inside {a}"


def test_bibkeys_in_references():
    bib = REPO / "book" / "references.bib"
    assert bib.is_file(), f"{bib.relative_to(REPO)} is missing"
    keys = set(
        re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib.read_text(encoding="utf-8"))
    )
    missing = {
        f"{name}: {key}"
        for name, ds in registry.DATASETS.items()
        for key in ds.bibkeys
        if key not in keys
    }
    assert not missing, f"bibkeys absent from book/references.bib: {sorted(missing)}"


@pytest.mark.parametrize("name", NAMES)
def test_every_file_has_exactly_one_producer(name):
    """Each registered data file is covered by one source (RemoteFiles or archive
    mapping) or one builder.
    """
    ds = registry.DATASETS[name]
    problems = []
    for rel in ds.files:
        producers = [i for i, src in enumerate(ds.sources) if source_covers(src, rel)]
        if rel in ds.builders:
            if producers:
                problems.append(
                    f"{rel}: builder output also matched by source(s) {producers}"
                )
            continue
        if len(producers) != 1:
            problems.append(f"{rel}: produced by {len(producers)} sources {producers}")
    assert not problems, f"{name}: " + "; ".join(problems[:10])


@pytest.mark.parametrize("name", NAMES)
def test_sources_are_well_formed(name):
    ds = registry.DATASETS[name]
    for src in ds.sources:
        if isinstance(src, RemoteFiles):
            assert src.url_template.count("{path}") == 1, src
            assert src.url_template.startswith(("http://", "https://"))
            matched = [
                rel
                for rel in ds.files
                if rel not in ds.builders and remote_url(src, rel)
            ]
            assert matched, f"{name}: source {src} matches no file"
        else:
            assert isinstance(src, RemoteArchive)
            assert src.url.startswith(("http://", "https://")) and src.members
            assert src.sha256 is None or SHA256.fullmatch(src.sha256)
            for local in (local for _, local in src.members):
                assert any(rel == local or rel.startswith(local) for rel in ds.files), (
                    f"{name}: {local} unused"
                )


def test_known_urls():
    """Spot checks of the URL mapping: prefix/suffix, whole-file prefixes and
    quoting.
    """
    yale = registry.get("yalefaces")
    assert remote_url(yale.sources[0], "subject01.centerlight").endswith(
        "/data/subject01.centerlight.gif"
    )
    coco = registry.get("coco")
    url = remote_url(coco.sources[0], "images/val2017/000000000139.jpg")
    assert url == "http://images.cocodataset.org/val2017/000000000139.jpg"
    kuai = registry.get("kuairand")
    url = remote_url(kuai.sources[1], "LICENSE")
    assert url is not None and url.endswith("/dataset/kuairand/kuairand-Pure/LICENSE")
    assert remote_url(kuai.sources[0], "LICENSE") is None  # pattern *_pure.csv
    space = RemoteFiles("https://host/{path}", "a b/", "", remote_suffix="#1")
    assert remote_url(space, "c d.txt") == "https://host/" + urllib.parse.quote(
        "a b/c d.txt#1"
    )
    bdb = registry.get("bindingdb").sources[0]
    prefix = bdb.members[0][0]
    assert (
        archive_local_path(bdb, prefix + "protein_0000/train.csv")
        == "raw_dataset/protein_0000/train.csv"
    )
    assert archive_local_path(bdb, "SAM-DTA-x/README.md") is None


# --------------------------------------------------------------------------------
# locate error paths

PROTEINS = b'{"P1": "MKV"}'


def test_locate_ok(fake_dataset):
    root = fake_dataset("kiba", {"proteins.txt": PROTEINS})
    assert registry.locate("kiba", "proteins.txt") == root / "kiba" / "proteins.txt"
    assert registry.locate("kiba") == root / "kiba"


def test_locate_without_data_root(fake_dataset, monkeypatch):
    fake_dataset("kiba", {"proteins.txt": PROTEINS})
    monkeypatch.delenv("MINILIB_DATA")
    with pytest.raises(DatasetNotFoundError) as exc:
        registry.locate("kiba", "proteins.txt")
    msg = str(exc.value)
    assert "MINILIB_DATA" in msg and "python -m minilib.data fetch" in msg


def test_locate_missing_dataset_folder(fake_dataset):
    root = fake_dataset("kiba", {"proteins.txt": PROTEINS})
    with pytest.raises(DatasetNotFoundError) as exc:
        registry.locate("davis", "proteins.txt")
    msg = str(exc.value)
    assert (
        "'davis'" in msg
        and str(root / "davis") in msg
        and "python -m minilib.data fetch davis" in msg
    )


def test_locate_missing_file(fake_dataset):
    root = fake_dataset("kiba", {"proteins.txt": PROTEINS, "ligands_can.txt": b"{}"})
    (root / "kiba" / "ligands_can.txt").unlink()
    with pytest.raises(DatasetNotFoundError) as exc:
        registry.locate("kiba", "proteins.txt", "ligands_can.txt")
    msg = str(exc.value)
    assert "'kiba'" in msg and str(root / "kiba" / "ligands_can.txt") in msg
    assert "python -m minilib.data fetch kiba" in msg


def test_locate_corrupt_file(fake_dataset):
    wrong = "0" * 64
    root = fake_dataset(
        "kiba", {"proteins.txt": PROTEINS}, checksums={"proteins.txt": wrong}
    )
    with pytest.raises(ChecksumMismatchError) as exc:
        registry.locate("kiba", "proteins.txt")
    msg = str(exc.value)
    assert wrong in msg and hashlib.sha256(PROTEINS).hexdigest() in msg
    assert str(root / "kiba" / "proteins.txt") in msg
    assert registry.locate("kiba", "proteins.txt", verify=False).is_file()


def test_locate_unknown_dataset_and_file(fake_dataset):
    fake_dataset("kiba", {"proteins.txt": PROTEINS})
    with pytest.raises(KeyError) as exc:
        registry.locate("no_such_dataset", "x")
    assert (
        "known datasets" in str(exc.value)
        and "kiba" in str(exc.value)
        and "coco" in str(exc.value)
    )
    with pytest.raises(KeyError, match="not a registered file"):
        registry.locate("kiba", "not_registered.txt")


def test_verify_on_fake_data(fake_dataset):
    root = fake_dataset(
        "kiba",
        {"proteins.txt": PROTEINS, "a.txt": b"a", "b.txt": b"b"},
        checksums={"b.txt": "0" * 64},
    )
    (root / "kiba" / "a.txt").unlink()
    assert verify_files("kiba") == [
        ("a.txt", "missing"),
        ("b.txt", "mismatch"),
        ("proteins.txt", "ok"),
    ]
    df = verify(["kiba", "davis"])
    kiba, davis = df.iloc[0], df.iloc[1]
    assert (kiba.files, kiba.ok, kiba.missing, kiba.mismatched) == (3, 1, 1, 1)
    assert kiba.status == "1 missing, 1 mismatched" and bool(kiba.docs_ok)
    assert davis.status == "missing folder" and davis.missing == davis.files


# --------------------------------------------------------------------------------------
# real data


@pytest.mark.data
def test_real_data_verifies(data_root):
    df = verify(data_dir=data_root)
    assert list(df["dataset"]) == list(registry.DATASETS)
    bad = df[df["status"] != "ok"]
    assert bad.empty, bad[["dataset", "status"]].to_string()
    assert df["docs_ok"].all()
    assert int(df["files"].sum()) == sum(
        len(ds.files) for ds in registry.DATASETS.values()
    )


@pytest.mark.data
@pytest.mark.parametrize(
    ("name", "rel"),
    [(name, rel) for name in NAMES for rel in registry.DATASETS[name].builders],
)
def test_builders_reproduce_the_mirror(data_root, name, rel):
    ds = registry.DATASETS[name]
    built = ds.builders[rel](ds.root(data_root))
    assert hashlib.sha256(built).hexdigest() == ds.checksums[rel]
    assert built == (data_root / ds.folder / rel).read_bytes()
