"""The reproduction scorecard: every chapter's claims, the paper's number, ours at each
scale, and whether the claim holds, gathered from the chapters' results files.

Chapters declare their claims once, with :meth:`minilib.Chapter.claim`; the results
file keeps them under ``claims``, the Checks cell asserts them, and this module lays
them out for the book's scorecard page (the ``{scorecard}`` directive of the book's
Sphinx extension), so the page, the chapter and its checks cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChapterClaims", "load_claims", "scorecard_markdown", "status"]

SCALES = ("ci", "full")


@dataclass(frozen=True)
class ChapterClaims:
    """The claims of one chapter: ``claims[scale]`` maps a claim's key to what the
    chapter recorded (statement, paper, ours, verdict, expected), or is None when the
    chapter has no results at that scale."""

    name: str
    title: str
    claims: dict[str, dict | None]


def _read(path: Path) -> dict | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("claims", {})


def load_claims(
    results: Path, chapters: Sequence[tuple[str, str]]
) -> list[ChapterClaims]:
    """The claims of ``chapters`` ((name, title) pairs, in book order) from the results
    folder ``results`` (``<name>.json`` at ci; ``full/<name>.json`` at full, counted
    only when the run finished, i.e. its ``.run.json`` exists)."""
    out = []
    for name, title in chapters:
        full_done = (results / "full" / f"{name}.run.json").is_file()
        claims = {
            "ci": _read(results / f"{name}.json"),
            "full": _read(results / "full" / f"{name}.json") if full_done else None,
        }
        out.append(ChapterClaims(name, title, claims))
    return out


def status(ci: str | None, full: str | None) -> str:
    """A claim's verdicts at the two scales, "ci / full" (None: no run at that
    scale, shown as "no run")."""
    return f"{ci or 'no run'} / {full or 'no run'}"


def _in_order(claims: dict) -> list[str]:
    """The keys of ``claims`` in the order the chapter declared them."""
    return sorted(claims, key=lambda k: claims[k].get("order", 0))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def scorecard_markdown(
    chapters: Sequence[ChapterClaims], link: str = "../notebooks/{}"
) -> str:
    """The scorecard as MyST markdown: a section per chapter (linked with
    ``link.format(name)``), a table of its claims with the paper's number, ours at ci
    and at full, and the verdicts; a line when a chapter declares no claim."""
    lines: list[str] = []
    for ch in chapters:
        lines += [f"## {ch.title}", "", f"Chapter: {{doc}}`{link.format(ch.name)}`", ""]
        declared = [c for c in (ch.claims["ci"], ch.claims["full"]) if c]
        keys = list(dict.fromkeys(k for c in declared for k in _in_order(c)))
        if not keys:
            lines += ["This chapter declares no claim yet.", ""]
            continue
        lines += [
            "| claim | paper | ours at ci | ours at full | verdict: ci / full |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key in keys:
            ci = (ch.claims["ci"] or {}).get(key)
            full = (ch.claims["full"] or {}).get(key)
            first = ci or full
            verdict = status(ci and ci["verdict"], full and full["verdict"])
            row = [
                first["statement"],
                first["paper"],
                ci["ours"] if ci else "-",
                full["ours"] if full else "-",
                verdict,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
        lines.append("")
    return "\n".join(lines)
