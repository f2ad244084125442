"""Execute the book's chapters with papermill: ``python -m minilib.book COMMAND``.

- ``build [--scale ci]``: what ``make book`` runs. The book's sources are copied to
  ``_build/src/`` and every chapter of ``_toc.yml`` is executed into
  ``_build/src/notebooks/``, its results written under ``_build/results/`` and staged
  with the committed ones in ``_build/src/results/`` for the scorecard page; the HTML is
  then rendered from ``_build/src/``. No tracked file changes.
- ``run NOTEBOOK ... [--scale ci]``: the same for some chapters (``make run``).
- ``refresh [NOTEBOOK ...] [--scale ci]``: for maintainers (``make refresh``). At scale
  "ci" the executed chapters replace the committed ones in ``notebooks/`` and their
  results ``results/<chapter>.json``, the regression baseline of ``make test``; at
  another scale the executed notebook, its results and a run record (hardware, date,
  wall time) go to ``results/<scale>/``.
- ``list``: the chapters in book order.

Each chapter runs in a fresh kernel whose working folder is ``notebooks/``, with
``MINILIB_SCALE`` and ``MINILIB_RESULTS`` set and progress bars off
(``MINILIB_PROGRESS=0``); one line per chapter reports its run
time. An executed notebook replaces its target only when the whole chapter succeeded;
a failing chapter is named, its executed copy kept under ``_build/failed/``, and the
command exits with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .results import ENV_VAR as RESULTS_VAR
from .results import project_root
from .runtime import SCALES

__all__ = ["CI_BUDGET_S", "hardware", "run_chapter", "toc_chapters", "write_run_record"]

CI_BUDGET_S = 120.0
#: What ``build`` copies into ``_build/src/`` besides the executed chapters.
SOURCES = ("_config.yml", "_toc.yml", "book", "notebooks")


def toc_chapters(root: Path) -> list[Path]:
    """The notebooks named in ``_toc.yml`` (``file: notebooks/...`` entries), in book
    order."""
    toc = (root / "_toc.yml").read_text()
    names = re.findall(r"file:\s*(notebooks/[\w\-./]+)", toc)
    out = []
    for name in names:
        path = root / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if not path.is_file():
            raise FileNotFoundError(
                f"_toc.yml lists {name}, but {path.relative_to(root)} does not exist"
            )
        out.append(path)
    return out


@contextlib.contextmanager
def _stderr_to(sink):
    """Point file descriptor 2 (inherited by child processes) at ``sink`` for the
    duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _environ(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_chapter(
    path: Path,
    scale: str,
    root: Path,
    target: Path,
    results: Path,
    *,
    timeout_s: int = 3600,
) -> float:
    """Execute the chapter ``path`` at ``scale`` into ``target`` with its results under
    ``results`` (``$MINILIB_RESULTS`` of the kernel); returns the wall time in seconds.

    The working folder of the kernel is the chapter's own folder. ``target`` is
    replaced only on success; on failure the executed copy goes to
    ``_build/failed/`` and the exception propagates. At a scale other than "ci" the run
    record ``<results>/<scale>/<stem>.run.json`` is written last.
    """
    import papermill as pm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".ipynb", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    log = root / "_build" / "logs" / f"{path.stem}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        # The kernel inherits stderr: its chatter goes to a log, not the progress lines.
        with (
            open(log, "w") as sink,
            _stderr_to(sink),
            _environ(
                MINILIB_SCALE=scale,
                MINILIB_PROGRESS="0",  # no bar frames in an executed chapter
                **{RESULTS_VAR: str(results)},
            ),
        ):
            pm.execute_notebook(
                str(path),
                str(tmp),
                cwd=str(path.parent),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout_s,
            )
    except BaseException:
        failed = root / "_build" / "failed" / path.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.move(str(tmp), failed)
        raise
    elapsed = time.perf_counter() - t0
    _relative_paths(tmp, path, target, root)
    os.chmod(tmp, 0o644)  # mkstemp made it private; the chapter is an ordinary file
    os.replace(tmp, target)
    if scale != "ci":
        record = results / scale / f"{path.stem}.run.json"
        write_run_record(record, path.stem, scale, elapsed)
    return elapsed


def hardware() -> dict[str, object]:
    """The machine a run happened on: CPU model and cores, GPU (when torch sees one),
    Python and platform."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "gpu": gpu,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def write_run_record(
    path: Path, chapter: str, scale: str, wall_s: float
) -> dict[str, object]:
    """Write ``<chapter>.run.json``: when, where and how long a run of a scale other
    than "ci" took. It is written last: its presence marks a finished run."""
    record = {
        "chapter": chapter,
        "scale": scale,
        "wall_s": round(wall_s, 1),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "hardware": hardware(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def _relative_paths(executed: Path, source: Path, target: Path, root: Path) -> None:
    """Papermill records absolute input and output paths; keep them relative to the
    book (no machine paths)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key, value in (("input_path", source), ("output_path", target)):
        rel = value.relative_to(root) if value.is_relative_to(root) else value.name
        meta[key] = Path(rel).as_posix()
    nbformat.write(nb, executed)


def _describe(exc: BaseException) -> str:
    # papermill's PapermillExecutionError carries the cell's exception name and value
    ename = getattr(exc, "ename", None)
    if ename:
        return f"{ename}: {getattr(exc, 'evalue', '')}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def copy_sources(root: Path, dest: Path) -> None:
    """A fresh copy of the book's sources (:data:`SOURCES`) in ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in SOURCES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(".*"))
        else:
            shutil.copy2(src, dest / name)


def stage_results(root: Path, src: Path) -> None:
    """Results beside the built sources, for the scorecard page: the committed ones,
    with this build's on top (``_build/results/``)."""
    dest = src / "results"
    if dest.exists():
        shutil.rmtree(dest)
    skip = shutil.ignore_patterns(".*", "*.ipynb")
    if (root / "results").is_dir():
        shutil.copytree(root / "results", dest, ignore=skip)
    built = root / "_build" / "results"
    if built.is_dir():
        shutil.copytree(built, dest, dirs_exist_ok=True, ignore=skip)


def _plan(command: str, root: Path, scale: str, chapter: Path) -> tuple[Path, Path]:
    """(target notebook, results folder) of one chapter for ``command``."""
    if command == "refresh":
        results = root / "results"
        if scale == "ci":
            return chapter, results
        return results / scale / chapter.name, results
    return (
        root / "_build" / "src" / "notebooks" / chapter.name,
        root / "_build" / "results",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minilib.book", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    default_scale = os.environ.get("MINILIB_SCALE", "ci")
    build = sub.add_parser("build", help="execute every chapter into _build/src/")
    run = sub.add_parser("run", help="execute some chapters into _build/src/")
    refresh = sub.add_parser(
        "refresh", help="execute chapters and replace their committed outputs"
    )
    run.add_argument("notebooks", nargs="+", help="chapters to run")
    refresh.add_argument(
        "notebooks", nargs="*", help="chapters (default: every chapter in _toc.yml)"
    )
    for p in (build, run, refresh):
        p.add_argument("--scale", default=default_scale, choices=SCALES)
    sub.add_parser("list", help="list the chapters in book order")
    args = parser.parse_args(argv)

    root = project_root()
    if root is None:
        print(
            "error: run this from the book's repository (no _toc.yml found above the "
            "working folder)",
            file=sys.stderr,
        )
        return 2
    chapters = toc_chapters(root)
    if args.command == "list":
        for c in chapters:
            print(c.relative_to(root))
        return 0
    if getattr(args, "notebooks", None):
        chapters = [Path(n).resolve() for n in args.notebooks]
        for c in chapters:
            if not c.is_file():
                print(f"error: no such notebook: {c}", file=sys.stderr)
                return 2
    src = root / "_build" / "src"
    if args.command == "build" or (args.command == "run" and not src.is_dir()):
        copy_sources(root, src)

    failures = []
    total0 = time.perf_counter()
    for i, chapter in enumerate(chapters, start=1):
        name = chapter.relative_to(root) if chapter.is_relative_to(root) else chapter
        print(
            f"[{i}/{len(chapters)}] {name} (scale {args.scale}) ...",
            end=" ",
            flush=True,
        )
        target, results = _plan(args.command, root, args.scale, chapter)
        t0 = time.perf_counter()
        try:
            elapsed = run_chapter(chapter, args.scale, root, target, results)
        except Exception as exc:  # noqa: BLE001 - report every chapter, then fail
            print(
                f"FAILED after {time.perf_counter() - t0:.1f} s\n    {_describe(exc)}\n"
                f"    executed copy: _build/failed/{chapter.name}, kernel log: "
                f"_build/logs/{chapter.stem}.log",
                flush=True,
            )
            failures.append(str(name))
            continue
        over = args.scale == "ci" and elapsed > CI_BUDGET_S
        flag = f"  (over the {CI_BUDGET_S:.0f} s ci budget)" if over else ""
        print(f"ok in {elapsed:.1f} s{flag}", flush=True)
    print(
        f"{len(chapters) - len(failures)}/{len(chapters)} chapters ok in "
        f"{time.perf_counter() - total0:.1f} s"
    )
    if args.command in ("build", "run"):
        stage_results(root, src)
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
