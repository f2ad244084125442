"""Tables as a chapter shows them: a DataFrame with its caption attached.

A ``print()`` caption followed by a table does not stay with it in the book (the
renderer gathers a cell's printed lines above all of its tables), so a chapter shows a
table through :func:`table`: in HTML the caption is the table's ``<caption>``, in text
(a terminal, or the regression check of the notebook) it is the line above the table.
"""

from __future__ import annotations

import html
from typing import Any


class Table:
    """A DataFrame and its caption, displayed together (see :func:`table`)."""

    def __init__(self, frame: Any, caption: str, *, index: bool = True) -> None:
        import pandas as pd

        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table needs a DataFrame or Series, got {type(frame)}")
        if not caption or not caption.strip():
            raise ValueError("a table needs a caption that says what it shows")
        self.frame = frame
        self.caption = caption.strip()
        self.index = index

    def _repr_html_(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None):
            body = self.frame.to_html(index=self.index, border=0, na_rep="-")
        head, sep, rest = body.partition(">")  # after the opening <table ...>
        caption = f"<caption>{html.escape(self.caption)}</caption>"
        return head + sep + "\n  " + caption + rest

    def __repr__(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None):
            text = self.frame.to_string(index=self.index, na_rep="-")
        return f"{self.caption}\n{text}"

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(repr(self))


def table(frame: Any, caption: str, *, index: bool = True) -> Table:
    """``frame`` (a DataFrame or a Series) to display with ``caption``.

    Display it (``display(table(...))``, or as a cell's last expression); the values
    are shown as they are in the frame, so round floats and keep counts as integers
    before. ``index=False`` hides the row labels. Raises ``ValueError`` for an empty
    caption.
    """
    return Table(frame, caption, index=index)
