"""minilib.chapter and minilib.results: recording, the results file written in one step
at the end, full runs, the comparison table, the code shown in chapters."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minilib
from minilib import results
from minilib.chapter import Chapter, FullRun, show_code
from minilib.runtime import check_params

PRESETS = {"ci": {"n": 3}, "full": {"n": 30}}


def _chapter(scale="ci", name="01_demo"):
    return minilib.setup(name, scale, 0, None, "cpu", PRESETS, verbose=False)


def test_record_keeps_plain_values_and_replaces(results_tmp):
    ch = _chapter()
    assert ch.record("a", np.float64(0.5)) == 0.5
    ch.record("b", {"x": np.int64(3), "y": [np.float32(1.5)]})
    ch.record("a", 0.75)
    assert ch.results == {"a": 0.75, "b": {"x": 3, "y": [1.5]}}
    assert not results_tmp.exists()  # nothing is written before save()


def test_save_writes_once_and_leaves_no_temporary_files(results_tmp):
    ch = _chapter()
    ch.record("a", 1)
    ch.save()
    assert json.loads((results_tmp / "01_demo.json").read_text()) == {"a": 1}
    assert [p.name for p in results_tmp.iterdir()] == ["01_demo.json"]
    assert ch.results_path == results_tmp / "01_demo.json"


def test_an_interrupted_write_keeps_the_old_file(results_tmp, monkeypatch):
    ch = _chapter()
    ch.record("a", 1)
    ch.save()
    ch.record("a", 2)

    def broken_dump(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(results.json, "dump", broken_dump)
        with pytest.raises(KeyboardInterrupt):
            ch.save()
    assert results.load("01_demo") == {"a": 1}
    assert [p.name for p in results_tmp.iterdir()] == ["01_demo.json"]


def test_other_scales_get_their_own_folder(results_tmp):
    ch = _chapter("full")
    ch.record("a", 1)
    ch.save()
    assert (results_tmp / "full" / "01_demo.json").is_file()
    assert results.load("01_demo", scale="full") == {"a": 1}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("nan")])
def test_non_finite_refused(results_tmp, bad):
    with pytest.raises(ValueError, match="non-finite"):
        _chapter().record("a", bad)


def test_bad_keys_values_and_names_refused():
    ch = _chapter()
    with pytest.raises(TypeError, match="cannot record a object"):
        ch.record("a", object())
    with pytest.raises(ValueError, match="non-empty"):
        ch.record("", 1)
    with pytest.raises(ValueError, match="stem"):
        Chapter("notebooks/01_demo.ipynb", check_params("ci", 0))


def test_load_missing_names_chapter(results_tmp):
    with pytest.raises(FileNotFoundError, match="no recorded results for 'nope'"):
        results.load("nope")


def test_results_dir_finds_project_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MINILIB_RESULTS", raising=False)
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert results.results_dir() == tmp_path / "results"
    assert results.results_dir("full") == tmp_path / "results" / "full"
    monkeypatch.setenv("MINILIB_RESULTS", str(tmp_path / "_build" / "r"))
    assert results.results_dir("full") == tmp_path / "_build" / "r" / "full"
    assert results.committed_dir("full") == tmp_path / "results" / "full"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A book folder with a committed full run of 01_demo; results go to _build."""
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    full = tmp_path / "results" / "full"
    full.mkdir(parents=True)
    (full / "01_demo.json").write_text(json.dumps({"score": 0.9}))
    run = {"wall_s": 600.0, "date_utc": "2026-11-29 10:00"}
    run["hardware"] = {"cpu_cores": 2, "gpu": None}
    (full / "01_demo.run.json").write_text(json.dumps(run))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINILIB_RESULTS", str(tmp_path / "_build" / "results"))
    return tmp_path


def test_full_run_reads_the_committed_run(project, capsys):
    full = _chapter().full_run()
    assert full == FullRun(
        {"score": 0.9},
        json.loads((project / "results/full/01_demo.run.json").read_text()),
        "2-core CPU, 2026-11-29, 10 min",
    )
    assert _chapter(name="02_other").full_run() is None
    assert "no full-scale run of 02_other" in capsys.readouterr().out
    assert _chapter(name="02_other").full_run(quiet=True) is None
    assert capsys.readouterr().out == ""
    # at scale full, the full run is this one
    ch = _chapter("full")
    ch.record("score", 0.8)
    assert ch.full_run().results == {"score": 0.8} and ch.full_run().label == "this run"


def test_a_finished_run_of_this_machine_comes_before_the_committed_one(project):
    mine = project / "_build" / "results" / "full"
    mine.mkdir(parents=True)
    (mine / "01_demo.json").write_text(json.dumps({"score": 0.95}))
    assert _chapter().full_run().results == {"score": 0.9}  # not finished: no record
    (mine / "01_demo.run.json").write_text(json.dumps({"wall_s": 60, "hardware": {}}))
    assert _chapter().full_run().results == {"score": 0.95}


def test_compare_puts_paper_this_run_and_the_full_run_side_by_side(project):
    ch = _chapter()
    ch.record("score", 0.5)

    def book(r):
        return {"score": f"{r['score']:.2f}"}

    table = ch.compare(
        {"paper": {"score": "0.99", "data": "private"}}, book, show=False
    )
    assert list(table.columns) == [
        "paper",
        "this book (ci)",
        "this book, full (2-core CPU, 2026-11-29, 10 min)",
    ]
    assert table.loc["score"].tolist() == ["0.99", "0.50", "0.90"]
    assert table.loc["data"].tolist() == ["private", "-", "-"]
    full = _chapter("full")
    full.record("score", 0.7)
    assert list(full.compare({"paper": {}}, book, show=False).columns) == [
        "paper",
        "this book (full)",
    ]


def test_environment_names_the_run_and_the_versions():
    text = _chapter().environment(["numpy"])
    assert text.splitlines()[0] == (
        "chapter 01_demo: scale ci, seed 0, device cpu, 2 threads"
    )
    assert f"numpy {np.__version__}" in text


def test_show_code_displays_the_source(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    show_code(results.load)
    caption, code = shown
    assert caption.data == "`minilib.results.load`"
    assert code.data.startswith("def load(")


def test_claims_are_kept_and_checked_against_their_declared_verdict(
    results_tmp, monkeypatch
):
    glued = []
    monkeypatch.setattr("minilib.chapter._glue", lambda key, *_: glued.append(key))
    ch = _chapter()
    assert ch.claim(
        "a", "A beats B", True, expect="holds", paper="+1 %", ours="+2 %"
    ) == ("holds")
    ch.claim(
        "b", "C beats D", np.bool_(False), expect="does not hold", paper="x", ours="y"
    )
    ch.claim(
        "c",
        "at scale",
        None,
        expect={"ci": "not tested", "full": "holds"},
        paper="p",
        ours="-",
    )
    ch.check_claims()  # every verdict as declared
    assert "claims" not in glued  # kept in the results, never glued (once per claim)
    assert ch.results["claims"]["b"] == {
        "order": 1,  # declared second
        "statement": "C beats D",
        "paper": "x",
        "ours": "y",
        "verdict": "does not hold",
        "expected": "does not hold",
    }
    # a change in either direction fails
    ch.claim("b", "C beats D", True, expect="does not hold", paper="x", ours="z")
    with pytest.raises(
        AssertionError, match="b: declared 'does not hold' at ci, measured 'holds'"
    ):
        ch.check_claims()
    with pytest.raises(ValueError, match="expect"):
        ch.claim("d", "s", True, expect="maybe", paper="", ours="")
    with pytest.raises(AssertionError, match="declares no claim"):
        _chapter(name="02_none").check_claims()
