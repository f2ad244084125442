"""Drug-target affinity data: the four SAE sets, BindingDB (SAM-DTA, 401 targets), Davis
and KIBA (DeepDTA).

Used by the datasets chapter and the SAE chapter. Every file is read through
:func:`minilib.data.registry.locate` (sha256-checked); CSVs through
:func:`~minilib.data._io.read_csv_checked`, JSON through
:func:`~minilib.data._io.read_json_checked` and the pickled ``Y`` matrices only through
:func:`~minilib.data._io.load_numpy_pickle`. A malformed file raises
:class:`~minilib.data.errors.MalformedDataError` (file and line where there is one)
instead of returning a half result. Provenance and counts: ``SOURCE.md`` in each dataset
folder of the data root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import load_numpy_pickle, read_csv_checked, read_json_checked
from .errors import MalformedDataError
from .registry import locate

#: Short name -> (registry name, file, measure) of the four single-target sets of the
#: SAE paper.
SAE_SETS: dict[str, tuple[str, str, str]] = {
    "egfr": ("sae_ic50_egfr", "IC50_EGFR.csv", "pIC50"),
    "bace1": ("sae_ic50_bace1", "IC50_BACE1.csv", "pIC50"),
    "ca1": ("sae_ki_ca1", "Ki_Carbonic_anhydrase_I.csv", "pKi"),
    "ca2": ("sae_ki_ca2", "Ki_Carbonic_anhydrase_II.csv", "pKi"),
}

#: Number of BindingDB targets (folders ``raw_dataset/protein_0000`` ...
#: ``protein_0400``).
BINDINGDB_N_TARGETS = 401
BINDINGDB_SPLITS: tuple[str, ...] = ("train", "val", "test")

#: The two DeepDTA datasets :func:`load_dta` reads, and their measure.
DTA_SETS: dict[str, str] = {"davis": "pKd", "kiba": "KIBA score"}

# a blank line is a bad row (reported), so line = index + 1
_NO_HEADER_READ = {"skip_blank_lines": False}


# --------------------------------------------------------------------------------------
# helpers


def _read_smiles_affinity(path: Path) -> pd.DataFrame:
    """A headerless ``SMILES,value`` CSV -> DataFrame[smiles: string, affinity:
    float64], every row checked.

    A missing, non-numeric or non-finite affinity raises MalformedDataError naming the
    line.
    """
    df = read_csv_checked(
        path,
        {"smiles": "str", "affinity": "float"},
        header=False,
        read_kwargs=_NO_HEADER_READ,
    )
    empty = df["smiles"].isna() | (df["smiles"].str.strip() == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy(dtype=bool))[0])
        raise MalformedDataError(path, "empty SMILES", line=i + 1)
    df["affinity"] = df["affinity"].to_numpy(dtype=np.float64)
    return df


def _check_unique_smiles(df: pd.DataFrame, where: list[tuple[Path, int]]) -> None:
    """Raise on the second occurrence of a SMILES. ``where[k]`` = (file, line) of row
    k.
    """
    dup = df["smiles"].duplicated(keep="first").to_numpy(dtype=bool)
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        smi = df["smiles"].iat[k]
        first = int(np.flatnonzero((df["smiles"] == smi).to_numpy(dtype=bool))[0])
        fpath, fline = where[first]
        path, line = where[k]
        at = f"line {fline}" if fpath == path else f"{fpath}, line {fline}"
        raise MalformedDataError(
            path, f"duplicate SMILES {smi!r} (first seen at {at})", line=line
        )


def _sae_entry(name: str) -> tuple[str, str, str, str]:
    """(short name, registry name, file, measure) for a short or registry name."""
    key = name.lower() if isinstance(name, str) else name
    if key in SAE_SETS:
        return (key, *SAE_SETS[key])
    for short, (reg, file, measure) in SAE_SETS.items():
        if key == reg:
            return short, reg, file, measure
    accepted = [*SAE_SETS, *(v[0] for v in SAE_SETS.values())]
    raise KeyError(
        f"unknown SAE dataset {name!r}; accepted names: {', '.join(accepted)}"
    )


# --------------------------------------------------------------------------------------
# SAE


def load_sae(name: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load one of the four SAE single-target sets (``"egfr"``, ``"bace1"``, ``"ca1"``,
    ``"ca2"``).

    ``name`` is a short name of :data:`SAE_SETS` or its registry name (e.g.
    ``"sae_ic50_egfr"``). Returns DataFrame[smiles: string, affinity: float64] in file
    order (RangeIndex), one row per compound; ``df.attrs["measure"]`` is ``"pIC50"``
    (EGFR, BACE1) or ``"pKi"`` (CA I, CA II), ``df.attrs["dataset"]`` the registry name
    and ``df.attrs["short_name"]`` the short name. Rows: 4,361 / 4,636 / 4,422 / 4,572.

    Checks: 2 columns and no header; the affinity a finite number; no empty SMILES; no
    SMILES twice.

    Raises:
        KeyError: an unknown name (the message lists the accepted ones).
        DatasetNotFoundError: the data root or the file is missing.
        ChecksumMismatchError: the file differs from the registry's sha256.
        MalformedDataError: a bad row (wrong field count, non-numeric or non-finite
            affinity, empty SMILES) or a duplicate SMILES; names the file and the line
            (of the second occurrence for a duplicate).

    Used by the datasets chapter and the SAE chapter.
    """
    short, reg, file, measure = _sae_entry(name)
    path = locate(reg, file, data_dir=data_dir)
    df = _read_smiles_affinity(path)
    _check_unique_smiles(df, [(path, i + 1) for i in range(len(df))])
    df.attrs.update(measure=measure, dataset=reg, short_name=short)
    return df


# --------------------------------------------------------------------------------------
# BindingDB


def _bindingdb_rel(index: int, split: str) -> str:
    return f"raw_dataset/protein_{index:04d}/{split}.csv"


def _check_target_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise TypeError(
            f"target index must be an int in 0..{BINDINGDB_N_TARGETS - 1}, got "
            f"{index!r}"
        )
    if not 0 <= index < BINDINGDB_N_TARGETS:
        raise ValueError(
            f"BindingDB target index {index} out of range: use "
            f"0..{BINDINGDB_N_TARGETS - 1}"
        )
    return int(index)


def load_bindingdb_sequences(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The 401 amino-acid sequences of ``bindingdb/seqs.txt``; element i is the target
    of ``protein_{i:04d}``.

    Returns a list of 401 non-empty ``str`` (uppercase one-letter codes; 85 = EGFR, 93 =
    BACE1, 370 = carbonic anhydrase I, 377 = carbonic anhydrase II).

    Raises:
        DatasetNotFoundError / ChecksumMismatchError: the file is missing or differs
        from the registry.
        MalformedDataError: not JSON, or not a list of 401 non-empty strings.

    Used by the datasets chapter and the SAE chapter.
    """
    path = locate("bindingdb", "seqs.txt", data_dir=data_dir)
    seqs = read_json_checked(path)
    if not isinstance(seqs, list) or len(seqs) != BINDINGDB_N_TARGETS:
        n = len(seqs) if isinstance(seqs, list) else type(seqs).__name__
        raise MalformedDataError(
            path, f"expected a JSON array of {BINDINGDB_N_TARGETS} sequences, found {n}"
        )
    for i, s in enumerate(seqs):
        if not isinstance(s, str) or not s:
            raise MalformedDataError(path, f"element {i} is not a non-empty string")
    return seqs


def load_bindingdb_target(
    index: int, data_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Load the records of BindingDB target ``index`` (folder
    ``raw_dataset/protein_{index:04d}``).

    Returns DataFrame[smiles: string, affinity: float64 (pIC50 = 9 - log10(IC50 nM),
    clipped to [2, 11] upstream), split: category with categories ("train", "val",
    "test")], the rows of ``train.csv``, then ``val.csv``, then ``test.csv`` in file
    order (RangeIndex). ``df.attrs``: ``measure`` = ``"pIC50"``, ``sequence`` = element
    ``index`` of ``seqs.txt``, ``target`` = ``index``, ``dataset`` = ``"bindingdb"``.

    Raises:
        TypeError / ValueError: ``index`` is not an int in 0..400. DatasetNotFoundError
        / ChecksumMismatchError: a file is missing or differs from the registry.
        MalformedDataError: a bad row (file and line), or a SMILES that occurs twice for
            this target (even across splits: that would leak test compounds into
            training).

    Used by the datasets chapter and the SAE chapter.
    """
    index = _check_target_index(index)
    paths = locate(
        "bindingdb",
        *(_bindingdb_rel(index, s) for s in BINDINGDB_SPLITS),
        data_dir=data_dir,
    )
    sequence = load_bindingdb_sequences(data_dir)[index]
    parts, where = [], []
    for split, path in zip(BINDINGDB_SPLITS, paths, strict=True):
        part = _read_smiles_affinity(path)
        part["split"] = split
        parts.append(part)
        where.extend((path, i + 1) for i in range(len(part)))
    df = pd.concat(parts, ignore_index=True)
    df["split"] = pd.Categorical(df["split"], categories=list(BINDINGDB_SPLITS))
    _check_unique_smiles(df, where)
    df.attrs.update(
        measure="pIC50", sequence=sequence, target=index, dataset="bindingdb"
    )
    return df


def _count_rows(path: Path) -> int:
    """Data rows of a headerless CSV: its non-blank lines."""
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def bindingdb_sizes(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Record counts of all 401 BindingDB targets.

    Returns DataFrame[target, n_train, n_val, n_test, n] (all ``int64``), one row per
    target 0..400 in order; ``n = n_train + n_val + n_test``. Rows are counted as
    non-blank lines (the files are not parsed, but every one of the 1,203 files is
    checksum-verified through :func:`locate`, so the counts are those of the registered
    files: 291,504 records, 203,868 / 29,173 / 58,463 in train / val / test).

    Raises:
        DatasetNotFoundError / ChecksumMismatchError: a file is missing or differs from
        the registry.

    Used by the datasets chapter and the SAE chapter.
    """
    rels = [
        _bindingdb_rel(i, s)
        for i in range(BINDINGDB_N_TARGETS)
        for s in BINDINGDB_SPLITS
    ]
    paths = locate("bindingdb", *rels, data_dir=data_dir)
    counts = np.array([_count_rows(p) for p in paths], dtype=np.int64).reshape(
        BINDINGDB_N_TARGETS, 3
    )
    df = pd.DataFrame(
        {
            "target": np.arange(BINDINGDB_N_TARGETS, dtype=np.int64),
            "n_train": counts[:, 0],
            "n_val": counts[:, 1],
            "n_test": counts[:, 2],
        }
    )
    df["n"] = counts.sum(axis=1)
    return df


# --------------------------------------------------------------------------------------
# Davis / KIBA


@dataclass
class DTAData:
    """A DeepDTA drug-target affinity dataset (Davis or KIBA), as returned by
    :func:`load_dta`.

    - ``name``: ``"davis"`` or ``"kiba"``; ``measure``: ``"pKd"`` or ``"KIBA score"``;
    - ``drugs``: DataFrame[drug_id, smiles, smiles_iso] (all ``string``), row i = row i
      of ``Y``;
    - ``proteins``: DataFrame[protein_id, sequence] (``string``), row j = column j of
      ``Y``;
    - ``Y``: float64 (n_drugs, n_proteins), the raw matrix (Davis: Kd in nM; KIBA:
      score, NaN = unmeasured);
    - ``pairs``: DataFrame[pair, drug, protein (int64), affinity (float64), fold
      (category)], one row per measured pair in DeepDTA order;
    - ``target_similarity``: float64 (n_proteins, n_proteins), normalised, unit
      diagonal;
    - ``drug_similarity``: float64 (n_drugs, n_drugs) for Davis, ``None`` for KIBA.
    """

    name: str
    measure: str
    drugs: pd.DataFrame
    proteins: pd.DataFrame
    Y: np.ndarray
    pairs: pd.DataFrame
    target_similarity: np.ndarray
    drug_similarity: np.ndarray | None

    @property
    def n_drugs(self) -> int:
        return len(self.drugs)

    @property
    def n_proteins(self) -> int:
        return len(self.proteins)


def _json_str_dict(path: Path) -> dict[str, str]:
    obj = read_json_checked(path)
    if not isinstance(obj, dict) or not obj:
        raise MalformedDataError(path, "expected a non-empty JSON object {id: string}")
    for k, v in obj.items():
        if not isinstance(v, str) or not v:
            raise MalformedDataError(
                path, f"the value of key {k!r} is not a non-empty string"
            )
    return obj


def _read_matrix(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A whitespace-separated numeric text matrix of the given shape (a trailing tab per
    line is allowed).
    """
    try:
        m = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError:
        m = None
    if m is None or m.shape != shape:
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, start=1):
                fields = line.split()
                if len(fields) != shape[1]:
                    raise MalformedDataError(
                        path,
                        f"expected {shape[1]} numbers, found {len(fields)}",
                        line=lineno,
                    )
                for x in fields:
                    try:
                        float(x)
                    except ValueError:
                        raise MalformedDataError(
                            path, f"{x!r} is not a number", line=lineno
                        ) from None
        got = "unreadable" if m is None else f"{m.shape[0]} x {m.shape[1]}"
        raise MalformedDataError(
            path, f"expected a {shape[0]} x {shape[1]} matrix, found {got}"
        )
    return m


def _folds(
    test_path: Path, train_path: Path, n_pairs: int
) -> tuple[np.ndarray, list[str]]:
    """Fold label per pair: "test" or "train0".. from the DeepDTA setting-1 fold files;
    checks full coverage.
    """
    test = read_json_checked(test_path)
    train = read_json_checked(train_path)
    if not isinstance(test, list):
        raise MalformedDataError(test_path, "expected a JSON list of pair indices")
    if (
        not isinstance(train, list)
        or not train
        or not all(isinstance(f, list) for f in train)
    ):
        raise MalformedDataError(
            train_path, "expected a JSON list of lists of pair indices"
        )
    labels = ["test", *(f"train{k}" for k in range(len(train)))]
    fold = np.full(n_pairs, -1, dtype=np.int64)
    for code, (path, idx) in enumerate(
        [(test_path, test)] + [(train_path, f) for f in train]
    ):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in idx):
            raise MalformedDataError(
                path, f"fold {labels[code]!r} holds a non-integer index"
            )
        arr = np.asarray(idx, dtype=np.int64)
        out = (arr < 0) | (arr >= n_pairs)
        if out.any():
            raise MalformedDataError(
                path,
                f"fold {labels[code]!r}: index {int(arr[out][0])} outside "
                f"0..{n_pairs - 1}",
            )
        uniq, counts = np.unique(arr, return_counts=True)
        taken = fold[uniq] >= 0
        if (counts > 1).any() or taken.any():
            i = int(uniq[counts > 1][0]) if (counts > 1).any() else int(uniq[taken][0])
            raise MalformedDataError(
                path,
                f"pair {i} is in more than one fold (seen again in {labels[code]!r})",
            )
        fold[arr] = code
    missing = np.flatnonzero(fold < 0)
    if missing.size:
        raise MalformedDataError(
            train_path,
            f"the test and train folds miss {missing.size} of the {n_pairs} measured "
            "pairs "
            f"(first: pair {int(missing[0])}); they must cover every pair exactly once",
        )
    return np.asarray(labels, dtype=object)[fold], labels


def load_dta(name: str, data_dir: str | os.PathLike | None = None) -> DTAData:
    """Load the DeepDTA distribution of Davis (``"davis"``) or KIBA (``"kiba"``) as a
    :class:`DTAData`.

    - ``drugs``: DataFrame[drug_id (PubChem CID for Davis, ChEMBL id for KIBA), smiles
      (canonical), smiles_iso (isomeric)], all ``string``, in row order of ``Y`` (the
      key order of ``ligands_can.txt``; ``ligands_iso.txt`` must have the same keys in
      the same order);
    - ``proteins``: DataFrame[protein_id (kinase construct name for Davis, UniProt
      accession for KIBA), sequence], ``string``, in column order of ``Y`` (key order of
      ``proteins.txt``);
    - ``Y``: the raw float64 matrix (n_drugs, n_proteins) from the pickled ``Y`` file:
      Davis 68 x 442 Kd in nM, fully measured; KIBA 2,111 x 229 scores with NaN =
      unmeasured;
    - ``pairs``: one row per measured pair in DeepDTA order ``rows, cols =
      np.where(~np.isnan(Y))`` (row-major): ``pair`` (0..n-1, the index used by the fold
      files), ``drug`` (row of ``Y``), ``protein`` (column of ``Y``), all ``int64``;
      ``affinity`` float64: Davis pKd = 9 - log10(Kd nM), where 5.0 (Kd = 10,000 nM) is
      the censored "no binding detected" value (69.6 % of pairs); KIBA the score as
      given (higher = stronger, 0-17.2); ``fold``: category "train0".."train4" (the five
      cross-validation folds of ``folds/train_fold_setting1.txt``) or "test"
      (``folds/test_fold_setting1.txt``). Davis: 30,056 pairs, 5,010 test; KIBA: 118,254
      pairs, 19,709 test;
    - ``target_similarity``: (n_proteins, n_proteins) float64. Davis: the raw
      Smith-Waterman scores of ``target-target_similarities_WS.txt`` normalised as s_ij
      / sqrt(s_ii s_jj) (unit diagonal; the raw matrix is symmetric, so this is too);
      KIBA: ``kiba_target_sim.txt`` as given (already normalised);
    - ``drug_similarity``: Davis: ``drug-drug_similarities_2D.txt`` (68 x 68, PubChem 2D
      similarity); KIBA: ``None``, because ``kiba_drug_sim.txt`` is not in the mirror
      (recompute it from ``drugs.smiles`` with RDKit, e.g. Morgan fingerprints and
      Tanimoto similarity, as the SAE paper does);
    - ``measure``: ``"pKd"`` or ``"KIBA score"``; ``name``.

    Raises:
        KeyError: ``name`` is not "davis" or "kiba". DatasetNotFoundError /
            ChecksumMismatchError: a file is missing or differs from the registry.
        UnsafePickleError: the ``Y`` pickle asks for anything but numpy arrays (nothing
            is executed).
        MalformedDataError: bad JSON, ligand files with different keys or order, ``Y``
            not a 2-D numeric array of shape drugs x proteins, a non-finite (or for
            Davis non-positive) measured value, a similarity matrix of the wrong shape
            or with a non-positive diagonal, or fold files that do not cover every
            measured pair exactly once.

    Used by the datasets chapter and the SAE chapter.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in DTA_SETS:
        raise KeyError(
            f"unknown DTA dataset {name!r}; accepted names: {', '.join(DTA_SETS)}"
        )
    sim_file = (
        "target-target_similarities_WS.txt" if key == "davis" else "kiba_target_sim.txt"
    )
    rels = [
        "ligands_can.txt",
        "ligands_iso.txt",
        "proteins.txt",
        "Y",
        "folds/test_fold_setting1.txt",
        "folds/train_fold_setting1.txt",
        sim_file,
    ]
    if key == "davis":
        rels.append("drug-drug_similarities_2D.txt")
    paths = dict(zip(rels, locate(key, *rels, data_dir=data_dir), strict=True))

    can = _json_str_dict(paths["ligands_can.txt"])
    iso = _json_str_dict(paths["ligands_iso.txt"])
    if list(can) != list(iso):
        diff = next(
            (i for i, (a, b) in enumerate(zip(can, iso, strict=False)) if a != b),
            min(len(can), len(iso)),
        )
        raise MalformedDataError(
            paths["ligands_iso.txt"],
            f"keys differ from ligands_can.txt ({len(iso)} vs {len(can)} keys; first "
            "difference at position "
            f"{diff}); both files must list the same drugs in the same order",
        )
    drugs = pd.DataFrame(
        {
            "drug_id": list(can),
            "smiles": list(can.values()),
            "smiles_iso": list(iso.values()),
        },
        dtype="string",
    )
    prot = _json_str_dict(paths["proteins.txt"])
    proteins = pd.DataFrame(
        {"protein_id": list(prot), "sequence": list(prot.values())}, dtype="string"
    )
    n_d, n_p = len(drugs), len(proteins)

    ypath = paths["Y"]
    Y = load_numpy_pickle(ypath)
    if not isinstance(Y, np.ndarray) or Y.ndim != 2 or Y.dtype.kind not in "fiu":
        what = (
            f"{Y.dtype} array of shape {Y.shape}"
            if isinstance(Y, np.ndarray)
            else type(Y).__name__
        )
        raise MalformedDataError(ypath, f"expected a 2-D numeric array, found a {what}")
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if Y.shape != (n_d, n_p):
        raise MalformedDataError(
            ypath,
            f"shape {Y.shape} does not match {n_d} drugs x {n_p} proteins "
            "(ligands_can.txt, proteins.txt)",
        )
    rows, cols = np.where(~np.isnan(Y))
    values = Y[rows, cols]
    bad = ~np.isfinite(values) | ((values <= 0) if key == "davis" else False)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise MalformedDataError(
            ypath,
            f"entry ({int(rows[k])}, {int(cols[k])}) = {values[k]!r} is not a valid "
            f"{'Kd (a positive number of nM)' if key == 'davis' else 'score (finite)'}",
        )
    affinity = 9.0 - np.log10(values) if key == "davis" else values.copy()
    fold, labels = _folds(
        paths["folds/test_fold_setting1.txt"],
        paths["folds/train_fold_setting1.txt"],
        len(rows),
    )
    pairs = pd.DataFrame(
        {
            "pair": np.arange(len(rows), dtype=np.int64),
            "drug": rows.astype(np.int64),
            "protein": cols.astype(np.int64),
            "affinity": affinity.astype(np.float64),
            "fold": pd.Categorical(fold, categories=[*labels[1:], "test"]),
        }
    )

    spath = paths[sim_file]
    S = _read_matrix(spath, (n_p, n_p))
    if key == "davis":
        d = np.diag(S).copy()
        if not (np.isfinite(S).all() and (d > 0).all()):
            raise MalformedDataError(
                spath, "Smith-Waterman scores must be finite with a positive diagonal"
            )
        target_similarity = S / np.sqrt(np.outer(d, d))
        drug_similarity = _read_matrix(
            paths["drug-drug_similarities_2D.txt"], (n_d, n_d)
        )
    else:
        target_similarity = S
        drug_similarity = None

    return DTAData(
        name=key,
        measure=DTA_SETS[key],
        drugs=drugs,
        proteins=proteins,
        Y=Y,
        pairs=pairs,
        target_similarity=target_similarity,
        drug_similarity=drug_similarity,
    )
