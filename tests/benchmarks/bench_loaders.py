"""Timings that tests must not assert (they depend on the machine and its load): run
``python tests/benchmarks/bench_loaders.py`` to print them. Each is the best of a few
repeats after one warm-up; nothing here fails on a slow machine.

Measured on the 2-core CPU of the book (2026-12): KuaiRand pipeline 0.5 s, the 10 DAVIS
sequences at 214 x 120 1.3 s, one at 854 x 480 0.16 s, the concordance index at 30k
pairs 0.02 s.
"""

from __future__ import annotations

import os
import time

import numpy as np


def best_of(fn, repeats: int = 3) -> float:
    fn()  # warm-up (file caches, hash cache, imports)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    from minilib.data import davis2017
    from minilib.metrics import concordance_index
    from minilib.recsys import prepare_kuairand

    if not os.environ.get("MINILIB_DATA"):
        raise SystemExit("set MINILIB_DATA to the data root (e.g. ../shared/data)")
    names = davis2017.list_sequences("all")
    rng = np.random.default_rng(4)
    t = np.round(rng.normal(size=30_000) * 2 + 6, 1)
    p = np.round(t + rng.normal(size=30_000), 2)
    rows = {
        "KuaiRand pipeline (prepare_kuairand)": lambda: prepare_kuairand(),
        f"DAVIS, {len(names)} sequences at 214 x 120": lambda: [
            davis2017.load_sequence(n, size=(214, 120)) for n in names
        ],
        "DAVIS, 'dog' at 854 x 480": lambda: davis2017.load_sequence("dog"),
        "concordance index, 30,000 pairs": lambda: concordance_index(t, p),
    }
    for name, fn in rows.items():
        print(f"{name:45s} {best_of(fn):7.3f} s")


if __name__ == "__main__":
    main()
