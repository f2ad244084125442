"""The chapter object: what a notebook gets from :func:`setup` and uses to the end.

A chapter's first code cells are::

    scale = os.environ.get("MINILIB_SCALE", "ci")   # the parameters cell
    seed = 0
    data_dir = None
    device = "auto"

    ch = minilib.setup("03_pepnet", scale, seed, data_dir, device,
                       presets={"ci": {...}, "full": {...}})
    cfg = ch.preset

and then, through the chapter:

- ``ch.record(key, value)``: a number the chapter computed, glued into the prose
  (``{glue:text}`key```) and kept for the results file and the checks;
- ``ch.full_run()``: the committed full-scale run (its results, hardware, date and wall
  time), or a note that there is none;
- ``ch.compare(paper, book)``: the "paper vs this book" table, with a column for this
  run and one for the committed full run;
- ``ch.results``: everything recorded so far, which the Checks cell asserts on;
- ``ch.environment()`` and ``ch.save()`` in the last cell: the versions used, and the
  results file written in one step (see :mod:`minilib.results`), so a run that fails
  before the end leaves the previous file untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import results as _results
from .runtime import (
    DEFAULT_THREADS,
    Params,
    Preset,
    check_params,
    configure_determinism,
    environment_report,
    pick_device,
    set_seed,
)
from .tables import Table

__all__ = ["VERDICTS", "Chapter", "FullRun", "setup", "show_code"]

DEFAULT_PACKAGES = ("minilib", "numpy", "pandas", "torch", "matplotlib")

#: What a run can say of a claim of the paper.
VERDICTS = ("holds", "does not hold", "not tested")


@dataclass(frozen=True)
class FullRun:
    """A full-scale run of a chapter: its recorded ``results``, its run record
    ``info`` (hardware, date, wall time; None for the run in progress) and a short
    ``label`` for tables, e.g. ``"2-core CPU, 2026-11-29, 14 min"``."""

    results: dict[str, Any]
    info: dict[str, Any] | None
    label: str


def _label(info: Mapping[str, Any]) -> str:
    hardware = info.get("hardware", {})
    where = hardware.get("gpu") or f"{hardware.get('cpu_cores', '?')}-core CPU"
    minutes = info.get("wall_s", 0) / 60
    return f"{where}, {str(info.get('date_utc', '?'))[:10]}, {minutes:.0f} min"


class Chapter:
    """One run of one chapter: its name, checked parameters, preset and recorded
    results (see the module docstring). Made by :func:`setup`."""

    def __init__(self, name: str, params: Params, threads: int = DEFAULT_THREADS):
        if not name or "/" in name or name.endswith(".ipynb"):
            raise ValueError(
                "the chapter name is the notebook's stem, e.g. '03_pepnet'; got "
                f"{name!r}"
            )
        self.name = name
        self.params = params
        self.threads = threads
        self.results: dict[str, Any] = {}

    # the run's parameters, as attributes
    @property
    def scale(self) -> str:
        return self.params.scale

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def data_dir(self) -> Path | None:
        return self.params.data_dir

    @property
    def device(self) -> str:
        return self.params.device

    @property
    def preset(self) -> Preset:
        return self.params.preset

    def __repr__(self) -> str:
        return (
            f"Chapter({self.name!r}, scale={self.scale!r}, seed={self.seed}, "
            f"device={self.device!r}, {len(self.results)} results recorded)"
        )

    # ----------------------------------------------------------------- recording
    def record(
        self, key: str, value: Any, *, fmt: str | None = None, display: bool = False
    ) -> Any:
        """Keep ``value`` under ``key`` and glue it into the book as ``key``.

        The value is stored as plain JSON (numpy and torch numbers become Python
        numbers); with ``fmt`` (a format string such as ``"{:.1f} %"``) the prose shows
        ``fmt.format(value)`` while the results keep the number. Recording a key twice
        replaces it. Returns the stored value.
        """
        if not isinstance(key, str) or not key:
            raise ValueError(f"a result needs a non-empty string key; got {key!r}")
        stored = _results.plain(value)
        self.results[key] = stored
        _glue(key, stored if fmt is None else fmt.format(stored), display)
        return stored

    @property
    def results_path(self) -> Path:
        """Where :meth:`save` writes: ``<results>/<name>.json`` (see
        :mod:`minilib.results`)."""
        return _results.results_dir(self.scale) / f"{self.name}.json"

    def save(self) -> None:
        """Write the recorded results to :attr:`results_path` in one step; the last
        statement of a chapter, so that only a chapter that ran to its end replaces
        the previous results."""
        _results.write_json(self.results_path, self.results)

    # ----------------------------------------------------------------- claims
    def claim(
        self,
        key: str,
        statement: str,
        holds: bool | None,
        *,
        expect: str | Mapping[str, str],
        paper: str,
        ours: str,
    ) -> str:
        """Declare one claim of the paper, and what this run measured of it.

        - ``statement``: the claim in words, as the chapter tests it;
        - ``holds``: the measured verdict of this run (``True``, ``False``), or
          ``None`` when this scale cannot test it;
        - ``expect``: the verdict the chapter declares at this scale, one of
          :data:`VERDICTS`, or a dict from scale to verdict. A claim that does not
          reproduce is declared ``"does not hold"``, with its numbers, never dropped;
        - ``paper``, ``ours``: the paper's number or statement, and this run's
          numbers, as text.

        The claim is kept in the results under ``claims`` (the reproduction scorecard
        reads it there); :meth:`check_claims` asserts that every measured verdict is
        the declared one, so a change in either direction fails the chapter. Returns
        the measured verdict.
        """
        expected = expect if isinstance(expect, str) else expect.get(self.scale)
        if expected not in VERDICTS:
            raise ValueError(
                f"claim {key!r}: expect must be one of {VERDICTS} (or a dict from "
                "scale "
                f"to one), got {expect!r} at scale {self.scale!r}"
            )
        if holds is not None and not isinstance(holds, bool):
            holds = bool(holds)  # numpy booleans
        verdict = (
            "not tested" if holds is None else ("holds" if holds else "does not hold")
        )
        claims = dict(self.results.get("claims", {}))
        order = claims[key]["order"] if key in claims else len(claims)
        claims[key] = {
            "order": order,
            "statement": statement,
            "paper": paper,
            "ours": ours,
            "verdict": verdict,
            "expected": expected,
        }
        # kept in the results only: the claims are not glued into the prose (gluing a
        # key once per claim would glue it several times)
        self.results["claims"] = _results.plain(claims)
        return verdict

    def check_claims(self) -> None:
        """The Checks cell's verdict on the declared claims: shows them as a table and
        raises ``AssertionError`` naming every claim whose measured verdict differs from
        the declared one."""
        import pandas as pd
        from IPython.display import display

        claims = self.results.get("claims", {})
        if not claims:
            raise AssertionError(f"{self.name} declares no claim (Chapter.claim)")
        claims = dict(sorted(claims.items(), key=lambda kv: kv[1].get("order", 0)))
        table = pd.DataFrame(claims).T.rename(columns={"expected": "declared"})
        table = table[["statement", "paper", "ours", "declared", "verdict"]]
        caption = f"The paper's claims at scale {self.scale}: declared and measured"
        display(Table(table.rename_axis("claim"), caption))
        wrong = [
            f"{key}: declared {c['expected']!r} at {self.scale}, measured "
            f"{c['verdict']!r} ({c['ours']})"
            for key, c in claims.items()
            if c["verdict"] != c["expected"]
        ]
        assert not wrong, "claims whose verdict changed: " + "; ".join(wrong)

    # ----------------------------------------------------------------- full runs
    def full_run(self, *, quiet: bool = False) -> FullRun | None:
        """The full-scale run to show beside this one.

        At scale "full" that is this run. Otherwise it is the most recent finished run
        of scale "full": first one made on this machine (under ``$MINILIB_RESULTS``),
        then the one committed under ``results/full/`` (a run counts as finished when
        its ``.run.json`` record exists). None when there is none, with a note printed
        unless ``quiet``.
        """
        if self.scale == "full":
            return FullRun(self.results, None, "this run")
        folders = [_results.results_dir("full"), _results.committed_dir("full")]
        for folder in dict.fromkeys(f for f in folders if f is not None):
            record = folder / f"{self.name}.run.json"
            if record.is_file():
                info = json.loads(record.read_text())
                data = _results.load(self.name, scale="full", folder=folder)
                return FullRun(data, info, _label(info))
        if not quiet:
            print(
                f"no full-scale run of {self.name} is committed "
                f"(results/full/{self.name}.run.json); make one with "
                f"`make refresh NB=notebooks/{self.name}.ipynb SCALE=full`"
            )
        return None

    def compare(
        self,
        paper: Mapping[str, Mapping[str, str]],
        book: Callable[[dict[str, Any]], Mapping[str, str]],
        *,
        show: bool = True,
    ):
        """The "paper vs this book" table.

        ``paper`` maps a column title (e.g. ``"paper (KDD 2023)"``) to its rows;
        ``book(results)`` makes the book's column from a run's results. The table has
        the paper's columns, this run's, and, at scales other than "full", the full
        run's when there is one (:meth:`full_run`). With ``show`` (the default) it is
        displayed with its caption and nothing is returned, so that the table shows
        once; with ``show=False`` the DataFrame is returned (rows: the union of the
        columns' rows, in order of appearance).
        """
        import pandas as pd

        columns = {title: dict(rows) for title, rows in paper.items()}
        columns[f"this book ({self.scale})"] = dict(book(self.results))
        if self.scale != "full":
            full = self.full_run(quiet=True)
            if full is not None:
                columns[f"this book, full ({full.label})"] = dict(book(full.results))
        rows = list(dict.fromkeys(k for col in columns.values() for k in col))
        table = pd.DataFrame(
            {title: [col.get(r, "-") for r in rows] for title, col in columns.items()},
            index=rows,
        )
        if show:
            from IPython.display import display

            display(Table(table, "The paper's numbers beside this book's"))
            return None
        return table

    # ----------------------------------------------------------------- the end
    def environment(self, packages: Iterable[str] = DEFAULT_PACKAGES) -> str:
        """Versions of Python, the platform and ``packages``, and this run's settings:
        the text of a chapter's last cell."""
        settings = (
            f"chapter {self.name}: scale {self.scale}, seed {self.seed}, "
            f"device {self.device}, {self.threads} threads"
        )
        return settings + "\n" + environment_report(packages)


def _glue(name: str, value: Any, display: bool) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(name, value, display=display)


def setup(
    name: str,
    scale: Any,
    seed: Any,
    data_dir: Any = None,
    device: Any = "auto",
    presets: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    threads: int = DEFAULT_THREADS,
    verbose: bool = True,
) -> Chapter:
    """Start a chapter: check the parameters, seed everything, make torch
    deterministic, pick the device, select the preset of the scale.

    ``name`` is the notebook's stem (``"03_pepnet"``); ``presets`` maps every scale to
    its sizes (the same keys in each). A bad value fails at once with a message that
    lists the accepted ones. With ``verbose`` one line says what was set. Returns the
    :class:`Chapter`.
    """
    from .runtime import select_preset

    params = check_params(scale, seed, data_dir, device)
    preset = select_preset(presets, params.scale)
    # before any CUDA work: cuBLAS reads its workspace setting once
    configure_determinism(threads)
    set_seed(params.seed)
    dev = pick_device(params.device)
    params = Params(params.scale, params.seed, params.data_dir, str(dev), preset)
    chapter = Chapter(name, params, threads)
    if verbose:
        print(
            f"{name}: scale={params.scale} seed={params.seed} device={params.device} "
            f"threads={threads}"
        )
    return chapter


def show_code(*objects: Any) -> None:
    """Show the source of functions, classes or methods of minilib in a chapter, each
    under a line naming its module: the code the chapter's numbers come from, right
    under its derivation."""
    import inspect
    import textwrap

    from IPython.display import Code, Markdown, display

    for obj in objects:
        module = inspect.getmodule(obj)
        where = module.__name__ if module is not None else "?"
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
        source = textwrap.dedent(inspect.getsource(obj)).rstrip()
        display(Markdown(f"`{where}.{name}`"), Code(source, language="python"))
