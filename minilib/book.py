"""Execute the book's chapters with papermill: ``python -m minilib.chapters run [--scale
ci] [NOTEBOOK ...]``.

This is what ``make book`` and ``make run`` call. The chapters are the notebooks listed
in ``_toc.yml``, in book order. Each one is executed in a fresh kernel with
``MINILIB_SCALE`` set; one progress line per chapter gives its run time. At scale "ci"
the executed notebook replaces the committed one (the regression baseline) only when it
succeeds; at other scales it is written to ``results/<scale>/<name>.ipynb``. A failing
chapter is named, its executed copy kept under ``_build/failed/``, and the command exits
with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .results import project_root
from .runtime import SCALES

CI_BUDGET_S = 120.0


def toc_chapters(root: Path) -> list[Path]:
    """The notebooks named in ``_toc.yml`` (``file: notebooks/...`` entries), in book
    order.
    """
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
    duration.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def run_chapter(path: Path, scale: str, root: Path, *, timeout_s: int = 3600) -> float:
    """Execute one chapter with papermill; returns its wall time in seconds. Raises on
    failure.
    """
    import papermill as pm

    os.environ["MINILIB_SCALE"] = scale
    if scale == "ci":
        target = path
    else:
        target = root / "results" / scale / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".ipynb", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    log = root / "_build" / "logs" / f"{path.stem}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        # The kernel inherits this process's stderr; send its chatter to a log instead
        # of the progress lines.
        with open(log, "w") as sink, _stderr_to(sink):
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
    # mkstemp made it private; the chapter is an ordinary file of the book
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    if scale != "ci":
        write_run_record(
            root / "results" / scale / f"{path.stem}.run.json",
            path.stem,
            scale,
            elapsed,
        )
    return elapsed


def hardware() -> dict[str, object]:
    """The machine a run happened on: CPU model and cores, GPU (when torch sees one),
    Python and platform.
    """
    import platform

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
    """Write ``results/<scale>/<chapter>.run.json``: when, where and how long a non-ci
    run took.
    """
    import datetime
    import json

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
    """Papermill records absolute input and output paths; keep them relative to the book
    (no machine paths).
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key, value in (("input_path", source), ("output_path", target)):
        meta[key] = (
            value.relative_to(root).as_posix()
            if value.is_relative_to(root)
            else value.name
        )
    nbformat.write(nb, executed)


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()
    # papermill's PapermillExecutionError carries the cell's exception name and value
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return f"{name}: {text[0] if text else ''}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minilib.chapters", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute chapters with papermill")
    run.add_argument(
        "notebooks",
        nargs="*",
        help="chapters to run (default: every chapter in _toc.yml)",
    )
    run.add_argument(
        "--scale", default=os.environ.get("MINILIB_SCALE", "ci"), choices=SCALES
    )
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
    if args.notebooks:
        chapters = [Path(n).resolve() for n in args.notebooks]
        for c in chapters:
            if not c.is_file():
                print(f"error: no such notebook: {c}", file=sys.stderr)
                return 2

    failures = []
    total0 = time.perf_counter()
    for i, chapter in enumerate(chapters, start=1):
        name = chapter.relative_to(root) if chapter.is_relative_to(root) else chapter
        print(
            f"[{i}/{len(chapters)}] {name} (scale {args.scale}) ...",
            end=" ",
            flush=True,
        )
        t0 = time.perf_counter()
        try:
            elapsed = run_chapter(chapter, args.scale, root)
        except Exception as exc:  # noqa: BLE001 - report every chapter, then fail
            print(
                f"FAILED after {time.perf_counter() - t0:.1f} s\n    {_describe(exc)}\n"
                f"    executed copy: _build/failed/{chapter.name}, kernel log: "
                f"_build/logs/{chapter.stem}.log",
                flush=True,
            )
            failures.append(str(name))
            continue
        flag = (
            "  (over the 120 s ci budget)"
            if args.scale == "ci" and elapsed > CI_BUDGET_S
            else ""
        )
        print(f"ok in {elapsed:.1f} s{flag}", flush=True)
    print(
        f"{len(chapters) - len(failures)}/{len(chapters)} chapters ok in "
        f"{time.perf_counter() - total0:.1f} s"
    )
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
