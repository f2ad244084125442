"""The book's bibliography style: author-year labels, as the text cites.

Entries are labelled "Chang et al., 2023" (one author: "Tan, 2019"; two: "Oh and Lee,
2019"), sorted by author, year and title; two entries with the same label get a, b, ...
after the year ("Dong et al., 2008a"). In the text, ``{cite:p}`` shows the same label.
arXiv identifiers and DOIs are links (pybtex's ``unsrt`` formatting).
"""

from __future__ import annotations

import string
from collections import Counter, defaultdict

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    latex = " ".join(person.prelast_names + person.last_names)
    return Text.from_latex(latex).render_as("text")


def author_year(entry) -> str:
    """``Name, year``, ``Name and Name, year`` or ``Name et al., year``."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    year = entry.fields.get("year", "n.d.")
    if not persons:
        who = Text.from_latex(
            entry.fields.get("organization") or entry.fields.get("title") or entry.key
        ).render_as("text")
    elif len(persons) == 1:
        who = _last_name(persons[0])
    elif len(persons) == 2:
        who = f"{_last_name(persons[0])} and {_last_name(persons[1])}"
    else:
        who = f"{_last_name(persons[0])} et al."
    return f"{who}, {year}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year(e) for e in sorted_entries]
        counts, seen = Counter(labels), defaultdict(int)
        for i, label in enumerate(labels):
            if counts[label] > 1:
                labels[i] = label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
        yield from labels


class BookStyle(UnsrtStyle):
    default_label_style = "book_author_year"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "book_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "book", BookStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
