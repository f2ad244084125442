"""The ``{scorecard}`` directive: the book's reproduction scorecard, made at build time
from the results files beside the book's sources (``results/`` and ``results/full/``)
by :mod:`minilib.scorecard`, so that it shows what the rendered chapters recorded."""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.util.docutils import SphinxDirective

from minilib.book import toc_chapters
from minilib.scorecard import load_claims, scorecard_markdown


def chapter_title(path: Path) -> str:
    """The first heading of a notebook's first markdown cell."""
    cells = json.loads(path.read_text()).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


class Scorecard(SphinxDirective):
    has_content = False

    def run(self):
        root = Path(self.env.srcdir)
        results = root / "results"
        chapters = [(p.stem, chapter_title(p)) for p in toc_chapters(root)]
        for name, _ in chapters:
            for rel in (f"{name}.json", f"full/{name}.json", f"full/{name}.run.json"):
                if (results / rel).is_file():
                    self.env.note_dependency(str(results / rel))
        text = scorecard_markdown(load_claims(results, chapters))
        return self.parse_text_to_nodes(text, allow_section_headings=True)


def setup(app):
    app.add_directive("scorecard", Scorecard)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
