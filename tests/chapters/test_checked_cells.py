"""The cells that nbval compares (marked ``# NBVAL_CHECK_OUTPUT``) print nothing that
depends on time or load: no progress bar, no timing, no date, nothing on stderr.

nbval re-executes every chapter and compares these cells' outputs with the committed
ones; a progress bar or a timing in them makes ``make test`` fail at random (a tqdm
line's elapsed time, ``[00:04<00:00``, differs between runs)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MARK = "# NBVAL_CHECK_OUTPUT"

#: Printed text that depends on time or load.
TIME_DEPENDENT = {
    "a progress bar": re.compile(r"\d+%\||\|\s*\d+/\d+\s*\[|it/s|s/it"),
    "an elapsed time": re.compile(
        r"\[\d+:\d+(<|\])|\b\d+\.\d+\s?(s|ms)\b|\b\d+\s(s|ms|sec|seconds|min)\b"
    ),
    "a date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
}
#: Source that prints time-dependent text.
TIME_SOURCES = re.compile(r"\btqdm\(|perf_counter|time\.time\(|datetime\.now")


def checked_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return [(i, c) for i, c in enumerate(code) if MARK in c.source]


def time_dependent_text(text: str) -> list[str]:
    return [what for what, pattern in TIME_DEPENDENT.items() if pattern.search(text)]


def test_the_detector_sees_a_tqdm_line_and_a_timing():
    line = "loading DAVIS 2017: 100%|##########| 10/10 [00:04<00:00,  2.41it/s]"
    assert set(time_dependent_text(line)) >= {"a progress bar", "an elapsed time"}
    assert time_dependent_text("trained in 18.4 s") == ["an elapsed time"]
    assert time_dependent_text("model   frames   J&F\nboat    75   0.43") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checked_cells_print_nothing_that_depends_on_time(path):
    cells = checked_cells(path)
    assert cells, f"{path.name} has no checked cell"
    for index, cell in cells:
        where = f"{path.name}, code cell {index}"
        assert not TIME_SOURCES.search(cell.source), f"{where} times or draws a bar"
        for out in cell.get("outputs", []):
            assert out.get("name") != "stderr", f"{where} writes to stderr"
            text = out.get("text", "")
            if out.output_type in ("execute_result", "display_data"):
                text = out.get("data", {}).get("text/plain", "")
            found = time_dependent_text(text)
            assert not found, f"{where} prints {', '.join(found)}: {text[:200]!r}"
