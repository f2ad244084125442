"""python -m minilib.book: chapters executed in book order into _build (build, run) or
in place (refresh), a failing one named, results written only by a finished chapter,
and no tracked file touched by build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from minilib.book import toc_chapters

ROOT = Path(__file__).resolve().parents[1]

GOOD = """import minilib
ch = minilib.setup("01_good", scale, 0, None, "cpu", verbose=False)
ch.record("answer", 42)
print("scale is", scale)
ch.save()"""

BAD = """import minilib
ch = minilib.setup("02_bad", scale, 0, None, "cpu", verbose=False)
ch.record("answer", 41)
raise RuntimeError("this chapter is broken")
ch.save()"""


def _notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\nscale = os.environ.get('MINILIB_SCALE', 'ci')",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(code),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture
def book(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "_config.yml").write_text("title: test\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: x\n    chapters:\n"
        "      - file: notebooks/01_good\n      - file: notebooks/02_bad\n"
    )
    _notebook(tmp_path / "notebooks" / "01_good.ipynb", GOOD)
    _notebook(tmp_path / "notebooks" / "02_bad.ipynb", BAD)
    results = tmp_path / "results"
    results.mkdir()
    (results / "02_bad.json").write_text('{"answer": 40}\n')  # a committed baseline
    return tmp_path


def _run(book: Path, *args: str):
    return subprocess.run(
        [sys.executable, "-m", "minilib.book", *args],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(book: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(book)): p.read_bytes()
        for p in book.rglob("*")
        if p.is_file() and "_build" not in p.parts
    }


def _output(path: Path) -> str:
    """The printed text of the chapter's second cell."""
    executed = json.loads(path.read_text())
    outputs = executed["cells"][1]["outputs"]
    return "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream")


def test_toc_order(book):
    assert [p.name for p in toc_chapters(book)] == ["01_good.ipynb", "02_bad.ipynb"]


def test_build_executes_into_build_and_changes_no_source_file(book):
    before = _snapshot(book)
    out = _run(book, "build")
    assert out.returncode == 1
    assert "[1/2] notebooks/01_good.ipynb (scale ci) ... ok in" in out.stdout
    assert "[2/2] notebooks/02_bad.ipynb (scale ci) ... FAILED" in out.stdout
    assert "RuntimeError: this chapter is broken" in out.stdout
    assert "failed: notebooks/02_bad.ipynb" in out.stderr
    assert _snapshot(book) == before  # nothing outside _build changed
    src = book / "_build" / "src"
    assert (src / "_toc.yml").is_file() and (src / "book" / "intro.md").is_file()
    assert "scale is ci" in _output(src / "notebooks" / "01_good.ipynb")
    results = book / "_build" / "results"
    assert json.loads((results / "01_good.json").read_text()) == {"answer": 42}
    # the failing chapter recorded a value but never reached save(): no results file
    assert not (results / "02_bad.json").exists()
    assert (book / "_build" / "failed" / "02_bad.ipynb").is_file()
    # staged for the scorecard: this build's results over the committed ones
    staged = src / "results"
    assert json.loads((staged / "01_good.json").read_text()) == {"answer": 42}
    assert json.loads((staged / "02_bad.json").read_text()) == {"answer": 40}
    meta = json.loads((src / "notebooks" / "01_good.ipynb").read_text())["metadata"]
    assert meta["papermill"]["input_path"] == "notebooks/01_good.ipynb"


def test_refresh_replaces_committed_outputs_only_on_success(book):
    bad_before = (book / "notebooks" / "02_bad.ipynb").read_text()
    out = _run(book, "refresh")
    assert out.returncode == 1
    assert "scale is ci" in _output(book / "notebooks" / "01_good.ipynb")
    assert json.loads((book / "results" / "01_good.json").read_text()) == {"answer": 42}
    # the failing chapter leaves its committed notebook and results as they were
    assert (book / "notebooks" / "02_bad.ipynb").read_text() == bad_before
    assert json.loads((book / "results" / "02_bad.json").read_text()) == {"answer": 40}
    assert not list((book / "notebooks").glob(".*.ipynb"))


def test_refresh_at_full_scale_writes_results_full(book):
    good_before = (book / "notebooks" / "01_good.ipynb").read_text()
    out = _run(book, "refresh", "--scale", "full", "notebooks/01_good.ipynb")
    assert out.returncode == 0, out.stdout + out.stderr
    full = book / "results" / "full"
    assert "scale is full" in _output(full / "01_good.ipynb")
    assert json.loads((full / "01_good.json").read_text()) == {"answer": 42}
    assert (book / "notebooks" / "01_good.ipynb").read_text() == good_before
    run = json.loads((full / "01_good.run.json").read_text())
    assert run["scale"] == "full" and run["wall_s"] > 0
    assert run["hardware"]["cpu_cores"] >= 1 and len(run["date_utc"]) == 16


def test_run_one_chapter_and_refuse_a_missing_one(book):
    out = _run(book, "run", "notebooks/01_good.ipynb")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (book / "_build" / "src" / "notebooks" / "01_good.ipynb").is_file()
    out = _run(book, "run", "notebooks/03_missing.ipynb")
    assert out.returncode == 2 and "no such notebook" in out.stderr


def test_repository_toc_lists_existing_chapters():
    chapters = toc_chapters(ROOT)
    assert chapters and all(p.suffix == ".ipynb" for p in chapters)
