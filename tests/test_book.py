"""python -m minilib.chapters: runs chapters in book order, names a failing one, exits
non-zero.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from minilib.chapters import toc_chapters

ROOT = Path(__file__).resolve().parents[1]


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
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: x\n    chapters:\n"
        "      - file: notebooks/01_good\n      - file: notebooks/02_bad\n"
    )
    _notebook(tmp_path / "notebooks" / "01_good.ipynb", "print('scale is', scale)")
    _notebook(
        tmp_path / "notebooks" / "02_bad.ipynb",
        "raise RuntimeError('this chapter is broken')",
    )
    return tmp_path


def _run(book: Path, *args: str):
    return subprocess.run(
        [sys.executable, "-m", "minilib.chapters", *args],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_toc_order(book):
    assert [p.name for p in toc_chapters(book)] == ["01_good.ipynb", "02_bad.ipynb"]


def test_runs_in_place_and_names_failure(book):
    bad_before = (book / "notebooks" / "02_bad.ipynb").read_text()
    out = _run(book, "run")
    assert out.returncode == 1
    assert "[1/2] notebooks/01_good.ipynb (scale ci) ... ok in" in out.stdout
    assert "[2/2] notebooks/02_bad.ipynb (scale ci) ... FAILED" in out.stdout
    assert "RuntimeError: this chapter is broken" in out.stdout
    assert "failed: notebooks/02_bad.ipynb" in out.stderr
    good = json.loads((book / "notebooks" / "01_good.ipynb").read_text())
    assert "scale is ci" in "".join(good["cells"][1]["outputs"][0]["text"])
    # the failing chapter's committed copy is untouched; the executed copy is kept for
    # inspection
    assert (book / "notebooks" / "02_bad.ipynb").read_text() == bad_before
    assert (book / "_build" / "failed" / "02_bad.ipynb").is_file()
    assert not list((book / "notebooks").glob(".*.ipynb"))


def test_other_scale_writes_results_folder(book):
    good_before = (book / "notebooks" / "01_good.ipynb").read_text()
    out = _run(book, "run", "--scale", "full", "notebooks/01_good.ipynb")
    assert out.returncode == 0, out.stdout + out.stderr
    executed = json.loads((book / "results" / "full" / "01_good.ipynb").read_text())
    assert "scale is full" in "".join(executed["cells"][1]["outputs"][0]["text"])
    assert (book / "notebooks" / "01_good.ipynb").read_text() == good_before
    run = json.loads((book / "results" / "full" / "01_good.run.json").read_text())
    assert (
        run["scale"] == "full"
        and run["wall_s"] > 0
        and run["hardware"]["cpu_cores"] >= 1
    )
    assert len(run["date_utc"]) == 16


def test_repository_toc_lists_existing_chapters():
    chapters = toc_chapters(ROOT)
    assert chapters and all(p.suffix == ".ipynb" for p in chapters)
