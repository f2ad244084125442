"""Chemistry loaders: SAE, BindingDB, Davis and KIBA on the real files (counts from each
SOURCE.md) and on generated broken files.
"""

from __future__ import annotations

import collections
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from minilib.data import (
    ChecksumMismatchError,
    MalformedDataError,
    UnsafePickleError,
    locate,
)
from minilib.data.chem import (
    SAE_SETS,
    DTAData,
    bindingdb_sizes,
    load_bindingdb_sequences,
    load_bindingdb_target,
    load_dta,
    load_sae,
)

# --------------------------------------------------------------------------------------
# real data

SAE_EXPECTED = {  # rows, label min, max, mean (rounded as in SOURCE.md)
    "egfr": (4_361, 2.0, 11.0, 6.57),
    "bace1": (4_636, 2.0, 11.0, 6.52),
    "ca1": (4_422, 3.10, 9.43, 6.30),
    "ca2": (4_572, 3.89, 10.52, 7.10),
}


@pytest.mark.data
@pytest.mark.parametrize("name", list(SAE_EXPECTED))
def test_sae_counts(data_root, name):
    n, lo, hi, mean = SAE_EXPECTED[name]
    df = load_sae(name)
    assert len(df) == n
    assert list(df.columns) == ["smiles", "affinity"]
    assert df["smiles"].dtype == "string" and df["affinity"].dtype == np.float64
    assert df["smiles"].is_unique
    assert (round(df["affinity"].min(), 2), round(df["affinity"].max(), 2)) == (lo, hi)
    assert round(df["affinity"].mean(), 2) == mean
    assert df.attrs["measure"] == SAE_SETS[name][2]
    assert df.attrs["dataset"] == SAE_SETS[name][0]
    # the registry name works too
    pd.testing.assert_frame_equal(load_sae(SAE_SETS[name][0]), df)


@pytest.mark.data
def test_bindingdb_sizes(data_root):
    sizes = bindingdb_sizes()
    assert list(sizes.columns) == ["target", "n_train", "n_val", "n_test", "n"]
    assert len(sizes) == 401
    assert sizes["target"].tolist() == list(range(401))
    assert int(sizes["n"].sum()) == 291_504
    assert sizes[["n_train", "n_val", "n_test"]].sum().tolist() == [
        203_868,
        29_173,
        58_463,
    ]
    assert (sizes["n"].min(), sizes["n"].median(), sizes["n"].max()) == (
        201,
        453,
        4_636,
    )
    assert (sizes.dtypes == np.int64).all()


@pytest.mark.data
def test_bindingdb_sequences(data_root):
    seqs = load_bindingdb_sequences()
    assert len(seqs) == 401 and len(set(seqs)) == 401
    lengths = [len(s) for s in seqs]
    assert (min(lengths), max(lengths)) == (93, 1_435)


@pytest.mark.data
@pytest.mark.parametrize(("index", "sae"), [(85, "egfr"), (93, "bace1")])
def test_bindingdb_target_equals_sae(data_root, index, sae):
    df = load_bindingdb_target(index)
    sizes = bindingdb_sizes().iloc[index]
    assert df["split"].value_counts().to_dict() == {
        "train": sizes["n_train"],
        "val": sizes["n_val"],
        "test": sizes["n_test"],
    }
    assert list(df["split"].cat.categories) == ["train", "val", "test"]
    assert df.attrs["measure"] == "pIC50"
    assert df.attrs["sequence"] == load_bindingdb_sequences()[index]
    ref = load_sae(sae)
    a = df[["smiles", "affinity"]].sort_values("smiles", ignore_index=True)
    b = ref.sort_values("smiles", ignore_index=True)
    assert a["smiles"].tolist() == b["smiles"].tolist()
    # "identical labels" (SOURCE.md) up to the last printed digit: ~200 values per set
    # are written with a different 16th-17th significant digit in the two files (1 ulp
    # apart)
    np.testing.assert_allclose(
        a["affinity"].to_numpy(), b["affinity"].to_numpy(), rtol=0, atol=1e-12
    )


@pytest.mark.data
def test_davis(data_root):
    d = load_dta("davis")
    assert isinstance(d, DTAData) and d.name == "davis" and d.measure == "pKd"
    assert d.Y.shape == (68, 442) and d.Y.dtype == np.float64
    assert (d.n_drugs, d.n_proteins) == (68, 442)
    assert list(d.drugs.columns) == ["drug_id", "smiles", "smiles_iso"]
    assert list(d.proteins.columns) == ["protein_id", "sequence"]
    assert d.drugs["smiles"].nunique() == 68
    assert d.proteins["sequence"].nunique() == 379
    assert d.proteins["protein_id"].iat[0] == "AAK1"
    p = d.pairs
    assert list(p.columns) == ["pair", "drug", "protein", "affinity", "fold"]
    assert len(p) == 30_056
    assert (round(p["affinity"].min(), 3), round(p["affinity"].max(), 3)) == (
        5.0,
        10.796,
    )
    assert round(float((p["affinity"] == 5.0).mean()), 3) == 0.696
    folds = p["fold"].value_counts().to_dict()
    assert folds["test"] == 5_010
    assert sum(v for k, v in folds.items() if k != "test") == 25_046
    assert [folds[f"train{k}"] for k in range(5)] == [5_010, 5_009, 5_009, 5_009, 5_009]
    # pair k is (rows[k], cols[k]) of the row-major non-NaN positions, and the pKd is 9
    # - log10(Kd)
    k = 12_345
    r, c = int(p["drug"].iat[k]), int(p["protein"].iat[k])
    assert (r, c) == divmod(k, 442)
    assert p["affinity"].iat[k] == pytest.approx(9 - np.log10(d.Y[r, c]))
    # Y equals the text matrix of the same Kd values
    text = np.loadtxt(
        locate("davis", "drug-target_interaction_affinities_Kd__Davis_et_al.2011v1.txt")
    )
    np.testing.assert_array_equal(d.Y, text)
    # the raw Smith-Waterman matrix is exactly symmetric, so the normalised one is too,
    # with a unit diagonal
    raw = np.loadtxt(locate("davis", "target-target_similarities_WS.txt"))
    assert np.array_equal(raw, raw.T)
    S = d.target_similarity
    assert S.shape == (442, 442)
    assert np.abs(S - S.T).max() <= 1e-12
    np.testing.assert_allclose(np.diag(S), 1.0, rtol=0, atol=1e-12)
    assert S.max() <= 1 + 1e-12 and S.min() > 0
    assert d.drug_similarity.shape == (68, 68)
    np.testing.assert_allclose(np.diag(d.drug_similarity), 1.0)


@pytest.mark.data
def test_kiba(data_root):
    d = load_dta("kiba")
    assert d.measure == "KIBA score" and d.drug_similarity is None
    assert d.Y.shape == (2_111, 229)
    assert d.drugs["drug_id"].iat[0].startswith("CHEMBL")
    assert d.drugs["smiles"].nunique() == 2_068
    p = d.pairs
    assert len(p) == 118_254 == int((~np.isnan(d.Y)).sum())
    assert (round(p["affinity"].min(), 1), round(p["affinity"].max(), 1)) == (0.0, 17.2)
    assert (p["fold"] == "test").sum() == 19_709
    assert p["fold"].value_counts().tolist() == [19_709] * 6
    assert p["drug"].nunique() == 2_111 and p["protein"].nunique() == 229
    np.testing.assert_array_equal(d.Y[p["drug"], p["protein"]], p["affinity"])
    S = d.target_similarity
    assert S.shape == (229, 229)
    np.testing.assert_array_equal(np.diag(S), 1.0)
    # the text copy agrees with Y to the last printed digit (not bit for bit: up to
    # 3.6e-15 apart)
    text = np.loadtxt(locate("kiba", "kiba_binding_affinity_v2.txt"))
    np.testing.assert_array_equal(np.isnan(text), np.isnan(d.Y))
    np.testing.assert_allclose(text, d.Y, rtol=0, atol=1e-12)


# -------------------------------------------------------------------------------------
# generated files


def test_unknown_names():
    with pytest.raises(KeyError, match="egfr.*sae_ki_ca2"):
        load_sae("abl1")
    with pytest.raises(KeyError, match="davis, kiba"):
        load_dta("bindingdb")


@pytest.mark.parametrize("index", [-1, 401, 10_000])
def test_bindingdb_index_out_of_range(index):
    with pytest.raises(ValueError, match=r"0\.\.400"):
        load_bindingdb_target(index)


def _sae_file(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


SAE_LINES = ["CCO,5.5", "c1ccccc1,6.25", "CC(=O)O,7.0", "CCN,4.0"]


def test_fake_sae_loads(fake_dataset):
    fake_dataset("sae_ki_ca1", {"Ki_Carbonic_anhydrase_I.csv": _sae_file(SAE_LINES)})
    df = load_sae("ca1")
    assert df["smiles"].tolist() == ["CCO", "c1ccccc1", "CC(=O)O", "CCN"]
    assert df["affinity"].tolist() == [5.5, 6.25, 7.0, 4.0]
    assert df.attrs["measure"] == "pKi"


@pytest.mark.parametrize(
    "bad",
    [
        "CC(=O)O,strong",
        "CC(=O)O,",
        "CC(=O)O,7.0,1",
        "CC(=O)O",
        "CC(=O)O,inf",
        "CC(=O)O,nan",
        ",7.0",
    ],
)
def test_fake_sae_bad_line_3(fake_dataset, bad):
    lines = list(SAE_LINES)
    lines[2] = bad
    fake_dataset("sae_ic50_egfr", {"IC50_EGFR.csv": _sae_file(lines)})
    with pytest.raises(MalformedDataError, match=r"IC50_EGFR\.csv, line 3\b") as e:
        load_sae("egfr")
    assert e.value.line == 3


def test_fake_sae_duplicate_smiles(fake_dataset):
    lines = [*SAE_LINES, "c1ccccc1,6.0"]  # second occurrence on line 5
    fake_dataset("sae_ic50_bace1", {"IC50_BACE1.csv": _sae_file(lines)})
    with pytest.raises(
        MalformedDataError, match=r"IC50_BACE1\.csv, line 5\b.*c1ccccc1.*line 2"
    ):
        load_sae("sae_ic50_bace1")


def test_fake_sae_corrupt(fake_dataset):
    fake_dataset(
        "sae_ki_ca2",
        {"Ki_Carbonic_anhydrase_II.csv": _sae_file(SAE_LINES)},
        checksums={"Ki_Carbonic_anhydrase_II.csv": "f" * 64},
    )
    with pytest.raises(ChecksumMismatchError, match="Ki_Carbonic_anhydrase_II"):
        load_sae("ca2")


def _bindingdb_files(index: int, splits: dict[str, list[str]]) -> dict[str, bytes]:
    seqs = ["M" + "A" * (i % 7 + 1) for i in range(401)]
    files = {"seqs.txt": json.dumps(seqs).encode()}
    for split, lines in splits.items():
        files[f"raw_dataset/protein_{index:04d}/{split}.csv"] = _sae_file(lines)
    return files


def test_fake_bindingdb_target(fake_dataset):
    fake_dataset(
        "bindingdb",
        _bindingdb_files(
            7, {"train": SAE_LINES[:2], "val": SAE_LINES[2:3], "test": SAE_LINES[3:]}
        ),
    )
    df = load_bindingdb_target(7)
    assert df["split"].tolist() == ["train", "train", "val", "test"]
    assert df.attrs["sequence"] == "M" + "A" * 1


def test_fake_bindingdb_smiles_shared_across_splits(fake_dataset):
    fake_dataset(
        "bindingdb",
        _bindingdb_files(
            3, {"train": SAE_LINES[:2], "val": SAE_LINES[2:3], "test": ["CCO,5.1"]}
        ),
    )
    with pytest.raises(
        MalformedDataError, match=r"test\.csv, line 1\b.*CCO.*train\.csv, line 1"
    ):
        load_bindingdb_target(3)


# Davis-like fixture: 2 drugs x 3 proteins, Kd in nM.
KD = np.array([[10_000.0, 1.0, 100.0], [0.5, 10_000.0, 20.0]])


def _dta_files(
    Y=KD,
    *,
    test=(0, 5),
    train=((1, 2), (3, 4)),
    iso_keys=("11", "22"),
    y_bytes=None,
) -> dict[str, bytes]:
    can = {"11": "CCO", "22": "CCN"}
    iso = dict(zip(iso_keys, ["CCO", "C[C@H]N"], strict=True))
    prot = {"P1": "MAAA", "P2": "MCCC", "P3": "MDDD"}
    sw = np.array([[100.0, 20.0, 30.0], [20.0, 400.0, 50.0], [30.0, 50.0, 900.0]])
    dsim = np.array([[1.0, 0.4], [0.4, 1.0]])
    return {
        "ligands_can.txt": json.dumps(can).encode(),
        "ligands_iso.txt": json.dumps(iso).encode(),
        "proteins.txt": json.dumps(prot).encode(),
        # protocol 4: load_numpy_pickle reads Python-2 pickles (like the real Y) and
        # protocol 3-4 ones
        "Y": y_bytes
        if y_bytes is not None
        else pickle.dumps(np.asarray(Y), protocol=4),
        "folds/test_fold_setting1.txt": json.dumps(list(test)).encode(),
        "folds/train_fold_setting1.txt": json.dumps([list(f) for f in train]).encode(),
        "target-target_similarities_WS.txt": "\n".join(
            " ".join(f"{x:g}" for x in r) for r in sw
        ).encode(),
        "drug-drug_similarities_2D.txt": "\n".join(
            " ".join(f"{x:g}" for x in r) for r in dsim
        ).encode(),
    }


def test_fake_davis_loads(fake_dataset):
    fake_dataset("davis", _dta_files())
    d = load_dta("davis")
    assert d.drugs["drug_id"].tolist() == ["11", "22"]
    assert d.drugs["smiles_iso"].tolist() == ["CCO", "C[C@H]N"]
    assert d.proteins["protein_id"].tolist() == ["P1", "P2", "P3"]
    p = d.pairs
    assert p["drug"].tolist() == [0, 0, 0, 1, 1, 1] and p["protein"].tolist() == [
        0,
        1,
        2,
        0,
        1,
        2,
    ]
    np.testing.assert_allclose(
        p["affinity"], [5.0, 9.0, 7.0, 9 - np.log10(0.5), 5.0, 9 - np.log10(20)]
    )
    assert p["fold"].tolist() == [
        "test",
        "train0",
        "train0",
        "train1",
        "train1",
        "test",
    ]
    assert list(p["fold"].cat.categories) == ["train0", "train1", "test"]
    S = d.target_similarity
    np.testing.assert_array_equal(np.diag(S), 1.0)
    assert S[0, 1] == pytest.approx(20 / np.sqrt(100 * 400))
    assert d.drug_similarity.shape == (2, 2)


def test_fake_kiba_like_nan_pairs(fake_dataset):
    Y = np.array([[11.1, np.nan, 12.0], [np.nan, 10.5, np.nan]])
    files = _dta_files(Y, test=(0,), train=((1,), (2,)))
    files.pop("target-target_similarities_WS.txt")
    files.pop("drug-drug_similarities_2D.txt")
    files["kiba_target_sim.txt"] = b"1\t0.2\t0.3\n0.2\t1\t0.4\n0.3\t0.4\t1"
    fake_dataset("kiba", files)
    d = load_dta("kiba")
    assert d.drug_similarity is None
    assert list(zip(d.pairs["drug"], d.pairs["protein"], strict=True)) == [
        (0, 0),
        (0, 2),
        (1, 1),
    ]
    assert d.pairs["affinity"].tolist() == [11.1, 12.0, 10.5]


def test_fake_davis_folds_miss_a_pair(fake_dataset):
    fake_dataset("davis", _dta_files(test=(0,)))  # pair 5 is in no fold
    with pytest.raises(MalformedDataError, match=r"miss 1 of the 6.*pair 5"):
        load_dta("davis")


def test_fake_davis_pair_in_two_folds(fake_dataset):
    fake_dataset("davis", _dta_files(test=(0, 5, 1)))
    with pytest.raises(MalformedDataError, match=r"pair 1 is in more than one fold"):
        load_dta("davis")


def test_fake_davis_ligand_keys_differ(fake_dataset):
    fake_dataset("davis", _dta_files(iso_keys=("22", "11")))
    with pytest.raises(MalformedDataError, match=r"ligands_iso\.txt.*same order"):
        load_dta("davis")


def test_fake_davis_shape_mismatch(fake_dataset):
    fake_dataset("davis", _dta_files(KD[:, :2]))
    with pytest.raises(
        MalformedDataError, match=r"shape \(2, 2\) does not match 2 drugs x 3 proteins"
    ):
        load_dta("davis")


@pytest.mark.parametrize(
    "obj",
    [collections.OrderedDict(a=1), collections.Counter("ab"), {"a": object()}],
    ids=["OrderedDict", "Counter", "object"],
)
def test_fake_davis_unsafe_pickle(fake_dataset, obj):
    fake_dataset("davis", _dta_files(y_bytes=pickle.dumps(obj)))
    with pytest.raises(UnsafePickleError):
        load_dta("davis")


def test_fake_davis_corrupt_y(fake_dataset):
    fake_dataset("davis", _dta_files(), checksums={"Y": "0" * 64})
    with pytest.raises(ChecksumMismatchError, match=r"davis.*Y"):
        load_dta("davis")
