"""minilib.chem.similarity: fingerprints, Tanimoto against RDKit, bins, invalid
SMILES.
"""

from __future__ import annotations

import numpy as np
import pytest

from minilib.chem import bin_fractions, ecfp4, max_similarity, tanimoto

SMILES = ["CCO", "CCN", "c1ccccc1O", "c1ccccc1N", "CC(=O)Oc1ccccc1C(=O)O", "CCCCCC"]


def test_tanimoto_matches_rdkit():
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    fp = ecfp4(SMILES)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    rd = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in SMILES]
    ours = tanimoto(fp.bits, fp.bits)
    for i in range(len(SMILES)):
        assert np.allclose(
            ours[i], DataStructs.BulkTanimotoSimilarity(rd[i], rd), atol=1e-6
        )
    assert np.allclose(np.diag(ours), 1.0)


def test_hand_computed_tanimoto():
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]])
    b = np.array([[1, 0, 1, 0], [1, 1, 1, 1]])
    # |a0 & b0| = 1, |a0 | b0| = 3 -> 1/3; a0 vs b1: 2/4; empty vs anything: 0
    assert np.allclose(tanimoto(a, b), [[1 / 3, 0.5], [0.0, 0.0]])
    assert np.allclose(max_similarity(a, b, batch=1), [0.5, 0.0])
    with pytest.raises(ValueError, match="same n_bits"):
        tanimoto(a, b[:, :3])
    with pytest.raises(ValueError, match="empty"):
        max_similarity(a, b[:0])


def test_invalid_smiles_reported_by_row():
    with pytest.warns(
        UserWarning,
        match=r"2 SMILES could not be parsed.*row 1 \('not a smiles'\).*row 3",
    ):
        fp = ecfp4(["CCO", "not a smiles", "CCN", ""])
    assert fp.valid.tolist() == [0, 2]
    assert fp.invalid == [(1, "not a smiles"), (3, "")]
    assert fp.bits.shape == (2, 2048) and set(np.unique(fp.bits)) <= {0, 1}


def test_bin_fractions_edges():
    # 0 and 0.3 in [0,1/3); 1/3 exactly starts the middle bin; 2/3 and 1.0 in the closed
    # last bin
    assert np.allclose(bin_fractions([0.0, 0.3, 1 / 3, 2 / 3, 1.0]), [0.4, 0.2, 0.4])
    with pytest.raises(ValueError, match="outside"):
        bin_fractions([1.2])
    with pytest.raises(ValueError, match="no values"):
        bin_fractions([])


def test_packed_tanimoto_equals_tanimoto_bit_for_bit():
    from minilib.chem.similarity import pack_bits, tanimoto_rows

    rng = np.random.default_rng(0)
    bits = (rng.random((300, 2048)) < 0.03).astype(np.uint8)
    bits[7] = 0  # an empty fingerprint: similarity 0, as in tanimoto
    odd = (rng.random((50, 100)) < 0.2).astype(np.uint8)  # n_bits not a multiple of 64
    for b in (bits, odd):
        packed = pack_bits(b)
        rows, cols = np.array([7, 0, 3, 3]), np.arange(len(b))
        assert np.array_equal(tanimoto_rows(packed, rows, cols), tanimoto(b[rows], b))
        # blocks of rows give the same values
        small = tanimoto_rows(packed, np.arange(40), cols[::2], block_bytes=1)
        assert np.array_equal(small, tanimoto(b[:40], b[::2]))
