"""Command line of the data layer: ``python -m minilib.data {verify,fetch,list}``.

- ``verify [NAME ...] [--data-dir DIR]``: one row per dataset, then the first bad files
  of each failing one; exit 0 when every dataset is complete and intact, 1 otherwise;
- ``fetch NAME [NAME ...] [--data-dir DIR] [--force] [--timeout S] [--retries N]
  [--workers N]``: download datasets (needs the internet); exit 1, with the error and no
  traceback, on failure;
- ``list``: every registry dataset with its number of files, licence and official page.

An unknown dataset name prints the known names and exits 2. Errors go to stderr as one
message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import registry
from .errors import DataError

_BAD_SHOWN = 5


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: set[int] = frozenset(),
) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _check_names(names: Sequence[str]) -> bool:
    unknown = [n for n in names if n not in registry.DATASETS]
    if unknown:
        _err(f"unknown dataset{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        print(
            "known datasets: " + ", ".join(sorted(registry.DATASETS)), file=sys.stderr
        )
        return False
    return True


def _cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify, verify_files

    names = args.names or list(registry.DATASETS)
    if not _check_names(names):
        return 2
    df = verify(names, args.data_dir)
    root = registry.data_root(args.data_dir)
    print(f"data root: {root}")
    rows = df[["dataset", "files", "ok", "missing", "mismatched", "status"]].itertuples(
        index=False
    )
    print(
        _table(
            ["dataset", "files", "ok", "missing", "mismatched", "status"],
            list(rows),
            right={1, 2, 3, 4},
        )
    )
    failing = df[df["status"] != "ok"]
    for name, folder, status in failing[["dataset", "folder", "status"]].itertuples(
        index=False
    ):
        print(f"\n{name} ({status}):")
        if status == "missing folder":
            print(
                f"  {root / folder} does not exist; `python -m minilib.data fetch "
                f"{name}` downloads it"
            )
            continue
        bad = [(rel, s) for rel, s in verify_files(name, root) if s != "ok"]
        for rel, s in bad[:_BAD_SHOWN]:
            print(f"  {s:8s}  {root / folder / rel}")
        if len(bad) > _BAD_SHOWN:
            print(f"  ... and {len(bad) - _BAD_SHOWN} more")
    for name, folder in df.loc[~df["docs_ok"], ["dataset", "folder"]].itertuples(
        index=False
    ):
        print(
            f"\nnote: {name}: a documentation file under {root / folder} differs from "
            "the registry"
        )
    if failing.empty:
        print(f"\nall {len(df)} dataset(s) ok ({int(df['files'].sum())} files)")
        return 0
    print(
        f"\n{len(failing)} of {len(df)} dataset(s) incomplete or corrupt",
        file=sys.stderr,
    )
    return 1


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch

    if not _check_names(args.names):
        return 2
    failed = []
    for name in args.names:
        try:
            report = fetch(
                name,
                args.data_dir,
                timeout=args.timeout,
                retries=args.retries,
                workers=args.workers,
                force=args.force,
                progress=not args.quiet,
            )
        except DataError as e:
            _err(str(e))
            failed.append(name)
            continue
        print(report.summary())
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    rows = [
        (ds.name, len(ds.files), ds.licence, ds.url)
        for ds in registry.DATASETS.values()
    ]
    print(_table(["dataset", "files", "licence", "official page"], rows, right={1}))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minilib.data",
        description="Check, download and list the datasets of the book.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="{verify,fetch,list}"
    )
    data_dir_help = f"the data root (default: ${registry.ENV_VAR})"

    p = sub.add_parser("verify", help="check every file's sha256 against the registry")
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="datasets to check (default: all)"
    )
    p.add_argument("--data-dir", help=data_dir_help)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("fetch", help="download datasets (needs the internet)")
    p.add_argument("names", nargs="+", metavar="NAME", help="datasets to download")
    p.add_argument("--data-dir", help=data_dir_help + "; created when missing")
    p.add_argument(
        "--force",
        action="store_true",
        help="download again files that are already correct",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds per request (default 30)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="extra tries per file (default 3)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=8,
        metavar="N",
        help="parallel downloads (default 8)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser(
        "list", help="list the datasets with their licence and official page"
    )
    p.set_defaults(func=_cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit
    code.

    0: success; 1: a dataset is missing, corrupt or could not be fetched (one message on
    stderr); 2: usage error or unknown dataset name (the known names are printed).
    """
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as e:
        _err(str(e))
        return 1
    except OSError as e:  # e.g. a data root that cannot be created
        _err(f"{type(e).__name__}: {e}")
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
