"""Shared fixtures.

- ``data_root``: the real data root (``$MINILIB_DATA``); tests that use it are skipped,
  with the reason printed, when it is not there.
- ``fake_dataset``: writes a small generated copy of one registry dataset under a
  temporary data root and registers the files' sha256 in place of the real ones, so
  error paths (bad rows, bad checksums, missing files) are tested without the real data.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from minilib import results
from minilib.data import registry


@pytest.fixture
def data_root() -> Path:
    env = os.environ.get("MINILIB_DATA")
    if not env or not Path(env).is_dir():
        pytest.skip(
            "the datasets are not available: set MINILIB_DATA (make test uses "
            "../shared/data)"
        )
    return Path(env)


@pytest.fixture
def fake_dataset(tmp_path, monkeypatch):
    """``make(name, {relpath: bytes}, checksums=None) -> data root``.

    The files are written under ``<tmp>/data/<folder of name>/`` and ``$MINILIB_DATA``
    points at ``<tmp>/data``. The registry's checksums of ``name`` are replaced by the
    digests of these files, or by ``checksums`` when given (to simulate a corrupt file,
    pass a wrong digest).
    """
    root = tmp_path / "data"
    replaced: dict[str, dict[str, str]] = {}
    original = registry._read_checksums

    def fake_read(name: str) -> dict[str, str]:
        return replaced[name] if name in replaced else original(name)

    monkeypatch.setattr(registry, "_read_checksums", fake_read)
    monkeypatch.setenv("MINILIB_DATA", str(root))

    def make(
        name: str, files: dict[str, bytes], checksums: dict[str, str] | None = None
    ) -> Path:
        folder = root / registry.get(name).folder
        for rel, content in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        sums = {
            rel: hashlib.sha256(content).hexdigest() for rel, content in files.items()
        }
        if checksums:
            sums.update(checksums)
        replaced[name] = sums
        return root

    return make


@pytest.fixture
def results_tmp(tmp_path, monkeypatch) -> Path:
    """Send what chapters save (:meth:`minilib.Chapter.save`) to a temporary folder."""
    out = tmp_path / "results"
    monkeypatch.setenv("MINILIB_RESULTS", str(out))
    return out


ROOT = Path(__file__).resolve().parents[1]


def committed_results(chapter: str, scale: str = "ci") -> dict:
    """The committed results of ``chapter`` at ``scale`` (``results/[scale/]``),
    wherever pytest runs from and whatever ``$MINILIB_RESULTS`` says. For a scale other
    than ci the run must have finished (its ``.run.json`` is written last), else the
    test skips.
    """
    folder = ROOT / "results" if scale == "ci" else ROOT / "results" / scale
    if scale != "ci" and not (folder / f"{chapter}.run.json").exists():
        pytest.skip(f"no committed {scale} run of {chapter}")
    return results.load(chapter, scale=scale, folder=folder)


@pytest.fixture(scope="module")
def r(request):
    """The committed ci results of the chapter named by the test module's
    ``CHAPTER``."""
    return committed_results(request.module.CHAPTER)


@pytest.fixture(scope="module")
def full(request):
    """The committed full-scale results of the module's ``CHAPTER`` (skips when there is
    no finished run)."""
    return committed_results(request.module.CHAPTER, "full")
