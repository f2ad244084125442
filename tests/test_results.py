"""minilib.results: recorded values, JSON files, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minilib import results
from minilib.results import load, record


def test_record_writes_and_merges(results_tmp):
    assert record("ch", "a", np.float64(0.5)) == 0.5
    record("ch", "b", {"x": np.int64(3), "y": [np.float32(1.5)]})
    data = json.loads((results_tmp / "ch.json").read_text())
    assert data == {"a": 0.5, "b": {"x": 3, "y": [1.5]}}
    record("ch", "a", 0.75)
    assert load("ch")["a"] == 0.75
    # no temp files left
    assert sorted(p.name for p in results_tmp.iterdir()) == ["ch.json"]


def test_other_scales_get_their_own_folder(results_tmp):
    record("ch", "a", 1, scale="full")
    assert (results_tmp / "full" / "ch.json").is_file()
    assert not (results_tmp / "ch.json").exists()
    assert load("ch", scale="full") == {"a": 1}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("nan")])
def test_non_finite_refused(results_tmp, bad):
    with pytest.raises(ValueError, match="non-finite"):
        record("ch", "a", bad)
    assert not (results_tmp / "ch.json").exists()


def test_unserialisable_refused(results_tmp):
    with pytest.raises(TypeError, match="cannot record a object"):
        record("ch", "a", object())
    with pytest.raises(ValueError, match="non-empty"):
        record("", "a", 1)


def test_load_missing_names_chapter(results_tmp):
    with pytest.raises(
        FileNotFoundError, match="no recorded results for 'nope'.*make run"
    ):
        load("nope")


def test_results_dir_finds_project_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MINILIB_RESULTS", raising=False)
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert results.results_dir() == tmp_path / "results"
    assert results.results_dir("full") == tmp_path / "results" / "full"
