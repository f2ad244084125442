"""minilib.scorecard: the scorecard page built from fixture results files."""

from __future__ import annotations

import json

from minilib.scorecard import load_claims, scorecard_markdown, status


def _claims(verdict, ours):
    return {
        "beats": {
            "statement": "PEPNet beats shared-bottom",
            "paper": "> 1 % online",
            "ours": ours,
            "verdict": verdict,
            "expected": verdict,
        }
    }


def test_scorecard_from_fixture_results(tmp_path):
    results = tmp_path / "results"
    (results / "full").mkdir(parents=True)
    (results / "03_pepnet.json").write_text(
        json.dumps({"claims": _claims("does not hold", "-0.1")})
    )
    (results / "full" / "03_pepnet.json").write_text(
        json.dumps({"claims": _claims("holds", "+0.2")})
    )
    (results / "full" / "03_pepnet.run.json").write_text("{}")
    (results / "05_sae.json").write_text(json.dumps({"other": 1}))
    # an unfinished full run (no .run.json) does not count
    (results / "full" / "05_sae.json").write_text(
        json.dumps({"claims": _claims("holds", "1")})
    )
    chapters = load_claims(
        results, [("03_pepnet", "PEPNet"), ("05_sae", "SAE"), ("06_x", "X")]
    )
    assert chapters[0].claims["full"]["beats"]["verdict"] == "holds"
    assert chapters[1].claims == {"ci": {}, "full": None}
    assert chapters[2].claims == {"ci": None, "full": None}
    text = scorecard_markdown(chapters)
    assert "## PEPNet" in text and "{doc}`../notebooks/03_pepnet`" in text
    row = [line for line in text.splitlines() if line.startswith("| PEPNet beats")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == [
        "PEPNet beats shared-bottom",
        "> 1 % online",
        "-0.1",
        "+0.2",
        "does not hold / holds",
    ]
    assert text.count("declares no claim yet") == 2


def test_status_names_missing_runs():
    assert status("holds", None) == "holds / no run"
    assert status(None, "does not hold") == "no run / does not hold"


def test_claims_keep_the_order_the_chapter_declared(tmp_path):
    claims = {
        key: {**_claims("holds", "1")["beats"], "statement": key, "order": order}
        for key, order in (("zeta", 0), ("alpha", 1))
    }
    (tmp_path / "01_x.json").write_text(json.dumps({"claims": claims}, sort_keys=True))
    text = scorecard_markdown(load_claims(tmp_path, [("01_x", "X")]))
    assert text.index("| zeta") < text.index("| alpha")
