"""minilib.tables: a table keeps its caption in HTML and in text."""

import pandas as pd
import pytest

from minilib.tables import table


def test_caption_is_part_of_the_html_table_and_the_text():
    frame = pd.DataFrame({"n": [4361, 12], "auc": [0.7512, 0.5]}, index=["a", "b<c"])
    shown = table(frame, "GAUC per task & domain")
    html = shown._repr_html_()
    assert html.startswith("<table")
    assert "<caption>GAUC per task &amp; domain</caption>" in html
    assert html.index("<caption>") < html.index("<thead>")
    assert "b&lt;c" in html  # cells are escaped
    text = repr(shown).splitlines()
    assert text[0] == "GAUC per task & domain"
    assert "4361" in text[2] and "4361.0" not in repr(shown)  # counts stay integers


def test_series_hidden_index_and_long_cells():
    long = "x" * 200
    shown = table(pd.Series({"note": long}, name="value"), "notes", index=True)
    assert long in repr(shown) and long in shown._repr_html_()  # never truncated
    no_index = table(pd.DataFrame({"a": [1]}), "c", index=False)
    assert "<th>0</th>" not in no_index._repr_html_()


@pytest.mark.parametrize("caption", ["", "  "])
def test_a_table_needs_a_caption(caption):
    with pytest.raises(ValueError, match="caption"):
        table(pd.DataFrame({"a": [1]}), caption)
    with pytest.raises(TypeError, match="DataFrame"):
        table({"a": 1}, "c")
