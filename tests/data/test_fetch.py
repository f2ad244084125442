"""`minilib.data.fetch` against a real HTTP server on 127.0.0.1 (no internet).

The server serves generated files and can misbehave on purpose: 503/429 for the first
requests, 404, answers slower than the client's timeout, a Content-Length larger than
the body, corrupt bytes. The test datasets are `registry.Dataset` objects registered
with monkeypatch, their checksums computed from the generated files.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
import time
import urllib.parse
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from minilib.data import registry
from minilib.data.__main__ import main
from minilib.data.errors import (
    ChecksumMismatchError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    UnsafeArchiveError,
)
from minilib.data.fetch import FetchReport, fetch, remote_url
from minilib.data.registry import Dataset, RemoteArchive, RemoteFiles
from minilib.data.verify import verify

pytestmark = pytest.mark.network

FAST = {"backoff": 0.01, "progress": False}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------
# server


@dataclass
class Server:
    """What the handler serves: ``content[path]`` (path as requested, unquoted), plus
    misbehaviours.
    """

    base: str = ""
    content: dict[str, bytes] = field(default_factory=dict)
    # path -> (n, status)
    fail_first: dict[str, tuple[int, int]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)  # path -> status, always
    # path -> seconds before answering
    slow: dict[str, float] = field(default_factory=dict)
    # path -> number of requests cut short (-1: all)
    truncate: dict[str, int] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    raw_paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + urllib.parse.quote(path)


def _handler(state: Server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body in separate writes: no 40 ms delayed-ACK stalls
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_GET(self):  # the name http.server calls
            path = urllib.parse.unquote(self.path)
            with state.lock:
                state.hits[path] += 1
                n = state.hits[path]
                state.raw_paths.append(self.path)
            if path in state.slow:
                time.sleep(state.slow[path])
            if path in state.status:
                return self._reply(state.status[path], b"no")
            if path in state.fail_first and n <= state.fail_first[path][0]:
                return self._reply(state.fail_first[path][1], b"busy")
            if path not in state.content:
                return self._reply(404, b"not found")
            body = state.content[path]
            cut = state.truncate.get(path, 0)
            if cut == -1 or n <= cut:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + 100))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            return self._reply(200, body)

        def _reply(self, code: int, body: bytes):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    # a client that timed out and hung up: expected
    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def server():
    state = Server()
    httpd = _QuietServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def register(monkeypatch, tmp_path):
    """``register(name, sources, files={relpath: bytes}, builders=None, checksums=None)
    -> Dataset``.

    ``files`` are the registered files (their sha256 become the registry's, overridden
    by ``checksums``).
    """
    sums: dict[str, dict[str, str]] = {}
    original = registry._read_checksums
    monkeypatch.setattr(
        registry,
        "_read_checksums",
        lambda name: sums[name] if name in sums else original(name),
    )
    monkeypatch.setenv("MINILIB_DATA", str(tmp_path / "data"))

    def make(name, sources, files, builders=None, checksums=None, docs=("SOURCE.md",)):
        ds = Dataset(
            name=name,
            folder=f"sub/{name}",
            title=f"test {name}",
            licence="CC0",
            citation="nobody",
            bibkeys=(),
            url="http://example.invalid/",
            sources=tuple(sources),
            builders=builders or {},
            docs=docs,
        )
        sums[name] = {rel: sha(data) for rel, data in files.items()} | (checksums or {})
        monkeypatch.setitem(registry.DATASETS, name, ds)
        return ds

    return make


def files_under(path: Path) -> list[str]:
    """Every file (not folder) under ``path``, relative, sorted; temporary files
    included.
    """
    if not path.exists():
        return []
    return sorted(
        p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir()
    )


def no_temp_files(path: Path) -> bool:
    return not [f for f in files_under(path) if ".part" in f]


# --------------------------------------------------------------------------------------
# remote files


def test_remote_files_prefix_suffix_and_quoting(server, register, tmp_path):
    files = {
        "tables/a.csv": b"x,y\n1,2\n",
        "tables/my file.csv": b"x,y\n3,4\n",
        "tables/notes.txt": b"not matched by the csv pattern",
        "README.txt": b"readme",
    }
    server.content = {
        "/repo/up/data/a.csv.orig": files["tables/a.csv"],
        "/repo/up/data/my file.csv.orig": files["tables/my file.csv"],
        "/repo/up/data/notes.txt": files["tables/notes.txt"],
        "/repo/top/README-upstream.txt": files["README.txt"],
    }
    tmpl = server.base + "/repo/{path}"
    src_csv = RemoteFiles(
        tmpl, "up/data/", "tables/", pattern="tables/*.csv", remote_suffix=".orig"
    )
    sources = [
        src_csv,
        RemoteFiles(tmpl, "up/data/", "tables/", pattern="*.txt"),
        # a whole file name as prefix
        RemoteFiles(tmpl, "top/README-upstream.txt", "README.txt"),
    ]
    ds = register("rf", sources, files)
    assert (
        remote_url(src_csv, "tables/my file.csv")
        == server.base + "/repo/up/data/my%20file.csv.orig"
    )
    assert remote_url(src_csv, "tables/notes.txt") is None

    report = fetch("rf", workers=3, **FAST)
    folder = tmp_path / "data" / "sub" / "rf"
    assert isinstance(report, FetchReport)
    assert report.folder == folder
    assert report.downloaded == sorted(files)
    assert report.skipped == report.built == report.missing == []
    for rel, data in files.items():
        assert (folder / rel).read_bytes() == data
    assert files_under(folder) == sorted(files)  # no temporary files, nothing else
    assert "/repo/up/data/my%20file.csv.orig" in server.raw_paths  # quoted on the wire
    assert ds.name in report.summary()


def test_skips_correct_files_refetches_corrupt_and_force(server, register, tmp_path):
    files = {f"f{i}.bin": bytes([i]) * (100 + i) for i in range(5)}
    server.content = {f"/d/f{i}.bin": data for i, data in enumerate(files.values())}
    register("skip", [RemoteFiles(server.base + "/d/{path}", "", "")], files)
    data_dir = tmp_path / "elsewhere" / "root"  # created by fetch

    first = fetch("skip", data_dir, **FAST)
    assert first.downloaded == sorted(files)
    hits = sum(server.hits.values())

    second = fetch("skip", data_dir, **FAST)
    assert second.downloaded == [] and second.skipped == sorted(files)
    assert sum(server.hits.values()) == hits  # no request at all

    (data_dir / "sub/skip/f1.bin").write_bytes(b"\x00" * 101)  # same size, wrong bytes
    (data_dir / "sub/skip/f3.bin").unlink()
    third = fetch("skip", data_dir, **FAST)
    assert third.downloaded == ["f1.bin", "f3.bin"]
    assert (data_dir / "sub/skip/f1.bin").read_bytes() == files["f1.bin"]

    forced = fetch("skip", data_dir, force=True, **FAST)
    assert forced.downloaded == sorted(files) and forced.skipped == []


def test_many_files_concurrently(server, register, tmp_path):
    files = {f"part/{i:03d}.txt": f"line {i}\n".encode() * (i + 1) for i in range(40)}
    server.content = {f"/many/{rel}": data for rel, data in files.items()}
    register("many", [RemoteFiles(server.base + "/many/{path}", "", "")], files)
    report = fetch("many", workers=8, **FAST)
    assert len(report.downloaded) == 40
    assert files_under(tmp_path / "data/sub/many") == sorted(files)


# ----------------------------------------------------------------------------------
# network failures


@pytest.mark.parametrize("code", [503, 429, 500])
def test_retry_after_transient_errors(server, register, code):
    server.content = {"/r/a.txt": b"hello"}
    server.fail_first = {"/r/a.txt": (2, code)}
    register(
        "retry", [RemoteFiles(server.base + "/r/{path}", "", "")], {"a.txt": b"hello"}
    )
    report = fetch("retry", retries=3, **FAST)
    assert report.downloaded == ["a.txt"]
    assert server.hits["/r/a.txt"] == 3


def test_503_exhausts_retries(server, register, tmp_path):
    server.status = {"/r/a.txt": 503}
    register(
        "busy", [RemoteFiles(server.base + "/r/{path}", "", "")], {"a.txt": b"hello"}
    )
    start = time.monotonic()
    with pytest.raises(DownloadError) as exc:
        fetch("busy", retries=2, backoff=0.05, progress=False)
    # exponential back-off: 0.05 s, then 0.1 s
    assert time.monotonic() - start >= 0.05 + 0.1
    assert server.hits["/r/a.txt"] == 3
    msg = str(exc.value)
    assert (
        "busy" in msg
        and server.url("/r/a.txt") in msg
        and "503" in msg
        and "3 attempts" in msg
    )
    assert files_under(tmp_path / "data") == []


def test_404_fails_at_once(server, register, tmp_path):
    register(
        "gone",
        [RemoteFiles(server.base + "/nowhere/{path}", "", "")],
        {"data/x.csv": b"1\n"},
    )
    start = time.monotonic()
    with pytest.raises(DownloadError) as exc:
        # a retry would sleep >= 1 s
        fetch("gone", retries=3, backoff=1.0, progress=False)
    assert time.monotonic() - start < 1.0
    assert server.hits["/nowhere/data/x.csv"] == 1
    msg = str(exc.value)
    assert server.url("/nowhere/data/x.csv") in msg and "404" in msg and "'gone'" in msg
    assert str(tmp_path / "data/sub/gone/data/x.csv") in msg  # the local file
    assert exc.value.url == server.url("/nowhere/data/x.csv")
    assert files_under(tmp_path / "data") == []


def test_timeout_retries_then_fails(server, register, tmp_path):
    server.content = {"/slow/a.txt": b"late"}
    server.slow = {"/slow/a.txt": 1.0}
    register(
        "slow", [RemoteFiles(server.base + "/slow/{path}", "", "")], {"a.txt": b"late"}
    )
    start = time.monotonic()
    with pytest.raises(DownloadError) as exc:
        fetch("slow", timeout=0.2, retries=1, **FAST)
    assert time.monotonic() - start < 1.5
    assert server.hits["/slow/a.txt"] == 2
    msg = str(exc.value)
    assert "timed out" in msg and "timeout=0.2 s" in msg and "2 attempts" in msg
    assert files_under(tmp_path / "data") == []


def test_truncated_body_retries_then_fails_without_partial_file(
    server, register, tmp_path
):
    data = b"0123456789" * 1000
    server.content = {"/t/big.bin": data}
    server.truncate = {"/t/big.bin": -1}
    register(
        "trunc", [RemoteFiles(server.base + "/t/{path}", "", "")], {"big.bin": data}
    )
    with pytest.raises(DownloadError) as exc:
        fetch("trunc", retries=2, **FAST)
    assert server.hits["/t/big.bin"] == 3
    assert "incomplete" in str(exc.value) or "IncompleteRead" in str(exc.value)
    assert files_under(tmp_path / "data") == []


def test_truncated_body_then_success(server, register, tmp_path):
    data = b"abcdef" * 500
    server.content = {"/t/big.bin": data}
    server.truncate = {"/t/big.bin": 1}
    register(
        "trunc1", [RemoteFiles(server.base + "/t/{path}", "", "")], {"big.bin": data}
    )
    fetch("trunc1", retries=2, **FAST)
    assert (tmp_path / "data/sub/trunc1/big.bin").read_bytes() == data
    assert server.hits["/t/big.bin"] == 2


def test_connection_refused_is_retried(register, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    register(
        "refused",
        [RemoteFiles(f"http://127.0.0.1:{port}/{{path}}", "", "")],
        {"a.txt": b"x"},
    )
    with pytest.raises(DownloadError) as exc:
        fetch("refused", retries=1, **FAST)
    assert exc.value.attempts == 2 and "cannot connect" in str(exc.value)


def test_corrupt_download_is_rejected_and_removed(server, register, tmp_path):
    good, bad = b"the real bytes\n", b"something else\n"
    server.content = {"/c/ok.txt": b"fine", "/c/data.txt": bad}
    register(
        "corrupt",
        [RemoteFiles(server.base + "/c/{path}", "", "")],
        {"ok.txt": b"fine", "data.txt": good},
    )
    with pytest.raises(ChecksumMismatchError) as exc:
        fetch("corrupt", workers=1, **FAST)
    msg = str(exc.value)
    folder = tmp_path / "data/sub/corrupt"
    assert str(folder / "data.txt") in msg and sha(good) in msg and sha(bad) in msg
    assert "data.txt" not in files_under(folder)
    assert no_temp_files(folder)


def test_one_failure_leaves_no_temp_files(server, register, tmp_path):
    files = {f"{i:02d}.bin": bytes([i]) * 5000 for i in range(20)}
    server.content = {
        f"/m/{rel}": data for rel, data in files.items() if rel != "07.bin"
    }
    register("onefail", [RemoteFiles(server.base + "/m/{path}", "", "")], files)
    with pytest.raises(DownloadError):
        fetch("onefail", workers=4, **FAST)
    folder = tmp_path / "data/sub/onefail"
    assert no_temp_files(folder)
    for rel in files_under(folder):  # whatever finished is complete and correct
        assert (folder / rel).read_bytes() == files[rel]


# --------------------------------------------------------------------------------------
# archives


def make_tar(
    entries: list[tarfile.TarInfo | tuple[str, bytes]], gz: bool = True
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_zip(entries: list[tuple[str, bytes] | zipfile.ZipInfo]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                zf.writestr(entry, b"/etc/passwd")
            else:
                zf.writestr(*entry)
    return buf.getvalue()


ARCHIVE_FILES = {
    "raw/x.csv": b"a,b\n1,2\n",
    "raw/sub/y.csv": b"a,b\n3,4\n",
    "seqs.txt": b"MKV\nMRT\n",
}


def archive_entries(top: str = "proj-abc123") -> list[tuple[str, bytes]]:
    return [
        (f"{top}/README.md", b"upstream readme, not mapped"),
        (f"{top}/datasets/raw/x.csv", ARCHIVE_FILES["raw/x.csv"]),
        (f"{top}/datasets/raw/sub/y.csv", ARCHIVE_FILES["raw/sub/y.csv"]),
        (f"{top}/datasets/raw/unregistered.csv", b"mapped but not in the registry"),
        (f"{top}/datasets/seqs.txt", ARCHIVE_FILES["seqs.txt"]),
    ]


MEMBERS = (
    ("proj-abc123/datasets/raw/", "raw/"),
    ("proj-abc123/datasets/seqs.txt", "seqs.txt"),
)


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "zip"])
def test_archive_members_mapped_by_prefix(server, register, tmp_path, kind):
    entries = archive_entries()
    if kind == "zip":
        blob = make_zip(entries)
    else:
        blob = make_tar([_dir("proj-abc123"), *entries], gz=kind == "tar.gz")
    # no extension: the format comes from the bytes
    server.content = {"/codeload/tar.gz/abc123": blob}
    src = RemoteArchive(
        server.base + "/codeload/tar.gz/abc123", members=MEMBERS, sha256=sha(blob)
    )
    register("arch", [src], ARCHIVE_FILES)
    report = fetch("arch", **FAST)
    folder = tmp_path / "data/sub/arch"
    assert report.downloaded == sorted(ARCHIVE_FILES)
    # no README, no unregistered file, no temp archive
    assert files_under(folder) == sorted(ARCHIVE_FILES)
    for rel, data in ARCHIVE_FILES.items():
        assert (folder / rel).read_bytes() == data

    # everything present: the archive is not downloaded again
    again = fetch("arch", **FAST)
    assert again.skipped == sorted(ARCHIVE_FILES)
    assert server.hits["/codeload/tar.gz/abc123"] == 1


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def test_archive_checksum_mismatch(server, register, tmp_path):
    blob = make_tar(archive_entries())
    server.content = {"/a.tgz": blob}
    register(
        "archsum",
        [RemoteArchive(server.base + "/a.tgz", members=MEMBERS, sha256="0" * 64)],
        ARCHIVE_FILES,
    )
    with pytest.raises(ChecksumMismatchError) as exc:
        fetch("archsum", **FAST)
    assert server.base + "/a.tgz" in str(exc.value) and sha(blob) in str(exc.value)
    assert files_under(tmp_path / "data") == []


def test_archive_member_with_wrong_bytes(server, register, tmp_path):
    blob = make_tar(archive_entries())
    server.content = {"/a.tgz": blob}
    register(
        "archbad",
        [RemoteArchive(server.base + "/a.tgz", members=MEMBERS)],
        ARCHIVE_FILES,
        checksums={"raw/x.csv": "1" * 64},
    )
    with pytest.raises(ChecksumMismatchError) as exc:
        fetch("archbad", **FAST)
    assert "raw/x.csv" in str(exc.value) and "1" * 64 in str(exc.value)
    folder = tmp_path / "data/sub/archbad"
    assert "raw/x.csv" not in files_under(folder) and no_temp_files(folder)


def test_archive_missing_member_is_reported(server, register, tmp_path):
    blob = make_tar(archive_entries())
    server.content = {"/a.tgz": blob}
    register(
        "archmiss",
        [RemoteArchive(server.base + "/a.tgz", members=MEMBERS)],
        ARCHIVE_FILES | {"raw/not_in_archive.csv": b"?"},
    )
    with pytest.raises(DatasetNotFoundError) as exc:
        fetch("archmiss", **FAST)
    assert "raw/not_in_archive.csv" in str(exc.value)
    assert exc.value.report.missing == ["raw/not_in_archive.csv"]


def _link(name: str, kind: bytes, target: str = "/etc/passwd") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (("../evil.txt", b"evil"), ".."),
        (("proj-abc123/datasets/raw/../../../evil.txt", b"evil"), ".."),
        (("ABSOLUTE", b"evil"), "absolute"),
        (_link("proj-abc123/datasets/raw/link.csv", tarfile.SYMTYPE), "symbolic link"),
        (
            _link(
                "proj-abc123/datasets/raw/hard.csv",
                tarfile.LNKTYPE,
                "proj-abc123/README.md",
            ),
            "hard link",
        ),
        (_link("proj-abc123/datasets/raw/dev.csv", tarfile.CHRTYPE), "device"),
        (_link("proj-abc123/datasets/raw/fifo.csv", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_unsafe_tar_is_refused_before_anything_is_written(
    server, register, tmp_path, bad, why
):
    outside = tmp_path / "outside" / "evil.txt"
    if bad == ("ABSOLUTE", b"evil"):
        bad = (str(outside), b"evil")  # an absolute path a naive extractor would write
    entries = archive_entries()
    # after some good members: none of them may be written either
    entries.insert(3, bad)
    blob = make_tar(entries)
    server.content = {"/evil.tar.gz": blob}
    registered = ARCHIVE_FILES | {
        "raw/link.csv": b"",
        "raw/hard.csv": b"",
        "raw/dev.csv": b"",
        "raw/fifo.csv": b"",
    }
    register(
        "evil",
        [RemoteArchive(server.base + "/evil.tar.gz", members=MEMBERS)],
        registered,
    )
    with pytest.raises(UnsafeArchiveError) as exc:
        fetch("evil", **FAST)
    assert why in str(exc.value) and "'evil'" in str(exc.value)
    assert not list(tmp_path.rglob("evil.txt"))  # neither outside nor inside
    assert not outside.exists()
    # nothing extracted, temporary archive removed
    assert files_under(tmp_path / "data") == []


@pytest.mark.parametrize(
    "bad", ["../evil.txt", "proj-abc123/datasets/raw/../../../../evil.txt", "/evil.txt"]
)
def test_unsafe_zip_is_refused(server, register, tmp_path, bad):
    blob = make_zip([*archive_entries(), (bad, b"evil")])
    server.content = {"/evil.zip": blob}
    register(
        "evilzip",
        [RemoteArchive(server.base + "/evil.zip", members=MEMBERS)],
        ARCHIVE_FILES,
    )
    with pytest.raises(UnsafeArchiveError):
        fetch("evilzip", **FAST)
    assert not list(tmp_path.rglob("evil.txt"))
    assert files_under(tmp_path / "data") == []


def test_zip_symlink_is_refused(server, register, tmp_path):
    link = zipfile.ZipInfo("proj-abc123/datasets/raw/link.csv")
    link.create_system = 3  # unix
    link.external_attr = 0o120777 << 16  # S_IFLNK
    blob = make_zip([*archive_entries(), link])
    server.content = {"/link.zip": blob}
    register(
        "linkzip",
        [RemoteArchive(server.base + "/link.zip", members=MEMBERS)],
        ARCHIVE_FILES | {"raw/link.csv": b"/etc/passwd"},
    )
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        fetch("linkzip", **FAST)
    assert files_under(tmp_path / "data") == []


def test_truncated_archive(server, register, tmp_path):
    blob = make_tar(
        archive_entries() + [("proj-abc123/big.bin", bytes(range(256)) * 4000)]
    )
    server.content = {"/a.tgz": blob[: len(blob) // 2]}
    register(
        "cut", [RemoteArchive(server.base + "/a.tgz", members=MEMBERS)], ARCHIVE_FILES
    )
    with pytest.raises(DataError, match="is corrupt"):
        fetch("cut", **FAST)
    # all members are read before any is written
    assert files_under(tmp_path / "data") == []


def test_not_an_archive(server, register, tmp_path):
    server.content = {"/a.tgz": gzip.compress(b"just text, not a tar")}
    register(
        "notarch",
        [RemoteArchive(server.base + "/a.tgz", members=MEMBERS)],
        ARCHIVE_FILES,
    )
    with pytest.raises(DataError, match="neither a tar"):
        fetch("notarch", **FAST)
    assert files_under(tmp_path / "data") == []


# --------------------------------------------------------------------------------------
# builders


def test_builders_run_after_download_in_order(server, register, tmp_path):
    names = b"b\nc\na\n"
    server.content = {"/b/names.txt": names}
    calls = []

    def sorted_names(root: Path) -> bytes:
        calls.append("sorted")
        return b"".join(
            sorted(line + b"\n" for line in (root / "names.txt").read_bytes().split())
        )

    def first_of_sorted(root: Path) -> bytes:  # needs the previous builder's output
        calls.append("first")
        return (root / "lists/sorted.txt").read_bytes().split(b"\n")[0] + b"\n"

    files = {"names.txt": names, "lists/sorted.txt": b"a\nb\nc\n", "first.txt": b"a\n"}
    builders = {"lists/sorted.txt": sorted_names, "first.txt": first_of_sorted}
    register(
        "built",
        [RemoteFiles(server.base + "/b/{path}", "", "", pattern="*.txt")],
        files,
        builders=builders,
    )
    report = fetch("built", **FAST)
    # builder outputs are not downloaded, though the pattern matches
    assert report.downloaded == ["names.txt"]
    assert report.built == ["first.txt", "lists/sorted.txt"]
    assert calls == ["sorted", "first"]
    assert (tmp_path / "data/sub/built/first.txt").read_bytes() == b"a\n"

    again = fetch("built", **FAST)
    assert again.built == [] and calls == ["sorted", "first"]


def test_builder_with_wrong_output(server, register, tmp_path):
    server.content = {"/b/names.txt": b"x\n"}
    register(
        "badbuild",
        [RemoteFiles(server.base + "/b/{path}", "", "", pattern="names.txt")],
        {"names.txt": b"x\n", "out.txt": b"expected\n"},
        builders={"out.txt": lambda root: b"other\n"},
    )
    with pytest.raises(ChecksumMismatchError) as exc:
        fetch("badbuild", **FAST)
    assert (
        "out.txt" in str(exc.value)
        and sha(b"expected\n") in str(exc.value)
        and sha(b"other\n") in str(exc.value)
    )
    assert files_under(tmp_path / "data/sub/badbuild") == ["names.txt"]


# ----------------------------------------------------------------------------------
# roots and names


def test_unknown_dataset():
    with pytest.raises(KeyError, match="known datasets"):
        fetch("no_such_dataset", progress=False)


def test_no_data_root(monkeypatch, register):
    ds = register("noroot", [], {})
    monkeypatch.delenv("MINILIB_DATA")
    with pytest.raises(DatasetNotFoundError, match="MINILIB_DATA"):
        fetch(ds, progress=False)


def test_dataset_object_and_docs_not_downloaded(server, register, tmp_path):
    server.content = {"/d/a.txt": b"a"}
    ds = register(
        "withdocs",
        [RemoteFiles(server.base + "/d/{path}", "", "")],
        {"a.txt": b"a", "SOURCE.md": b"# docs"},
    )
    # a Dataset object, and data_dir given
    report = fetch(ds, tmp_path / "root", **FAST)
    assert report.downloaded == ["a.txt"]
    assert files_under(tmp_path / "root/sub/withdocs") == ["a.txt"]


# --------------------------------------------------------------------------------------
# CLI


def test_cli_fetch(server, register, tmp_path, capsys):
    server.content = {"/cli/a.txt": b"a", "/cli/b.txt": b"b"}
    register(
        "cliok",
        [RemoteFiles(server.base + "/cli/{path}", "", "")],
        {"a.txt": b"a", "b.txt": b"b"},
    )
    register(
        "clibad",
        [RemoteFiles(server.base + "/cli/missing/{path}", "", "")],
        {"c.txt": b"c"},
    )
    root = tmp_path / "cli_root"

    assert (
        main(
            [
                "fetch",
                "cliok",
                "--data-dir",
                str(root),
                "--retries",
                "0",
                "--workers",
                "2",
                "-q",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "cliok: 2 downloaded" in out and (root / "sub/cliok/a.txt").read_bytes() == b"a"
    )

    assert (
        main(
            [
                "fetch",
                "clibad",
                "--data-dir",
                str(root),
                "--retries",
                "0",
                "--timeout",
                "5",
                "-q",
            ]
        )
        == 1
    )
    captured = capsys.readouterr()
    assert server.url("/cli/missing/c.txt") in captured.err and "404" in captured.err
    assert "Traceback" not in captured.err + captured.out

    assert main(["fetch", "no_such_dataset", "--data-dir", str(root)]) == 2
    assert "cliok" in capsys.readouterr().err  # the known names


# ----------------------------------------------------- real registry entries, served
# from the mirror


@pytest.mark.data
@pytest.mark.parametrize("name", ["label_embeddings", "kiba", "davis2017", "bindingdb"])
def test_real_registry_entry_from_local_copy(
    server, data_root, tmp_path, monkeypatch, name
):
    """The real entry with its hosts replaced by the local server, which serves the
    mirror's files at the remote paths the entry computes (archives are rebuilt from the
    mirror): fetch writes every file, runs the builders, and the result verifies byte
    for byte.
    """
    ds = registry.get(name)
    mirror = data_root / ds.folder
    sources = []
    for i, src in enumerate(ds.sources):
        if isinstance(src, RemoteFiles):
            local = dataclasses.replace(src, url_template=f"{server.base}/{i}/{{path}}")
            for rel in ds.files:
                url = remote_url(local, rel) if rel not in ds.builders else None
                if url is not None:
                    server.content.setdefault(
                        urllib.parse.unquote(url[len(server.base) :]),
                        (mirror / rel).read_bytes(),
                    )
        else:
            entries = []
            for rel in ds.files:
                prefix, local = next(
                    (a, lp) for a, lp in src.members if rel.startswith(lp)
                )
                entries.append(
                    (prefix + rel[len(local) :], (mirror / rel).read_bytes())
                )
            server.content[f"/{i}/archive"] = make_tar(entries, gz=False)
            local = dataclasses.replace(
                src, url=f"{server.base}/{i}/archive", sha256=None
            )
        sources.append(local)
    monkeypatch.setitem(
        registry.DATASETS, name, dataclasses.replace(ds, sources=tuple(sources))
    )
    report = fetch(name, tmp_path / "root", **FAST)
    assert sorted(report.downloaded + report.built) == ds.files
    assert report.built == sorted(ds.builders)
    assert (verify(name, tmp_path / "root")["status"] == "ok").all()
