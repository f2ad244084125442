"""Where the bytes of a dataset come from: files fetched one by one, or the members of
an archive.

A leaf module: the catalogue describes every dataset with these, the registry and fetch
read them.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "RemoteArchive",
    "RemoteFiles",
    "Source",
    "archive_local_path",
    "github_raw",
    "remote_url",
    "source_covers",
]


@dataclass(frozen=True)
class RemoteFiles:
    """Files downloaded one by one.

    For every registry file whose local path starts with ``local_prefix`` and matches
    ``pattern`` (fnmatch, on the local path), the remote path is ``remote_prefix + rest
    + remote_suffix`` where ``rest`` is the local path after ``local_prefix``; the URL
    is ``url_template.format(path=<quoted remote path>)``. A prefix may be a whole file
    name (then ``rest`` is empty).
    """

    url_template: str
    remote_prefix: str
    local_prefix: str
    pattern: str = "*"
    remote_suffix: str = ""


@dataclass(frozen=True)
class RemoteArchive:
    """One archive (.tar, .tar.gz, .tgz or .zip) whose members are mapped onto local
    paths.

    ``members`` maps an archive path prefix to a local path prefix; other members are
    skipped. When ``sha256`` is known the archive itself is checked; the extracted files
    are always checked against the registry.
    """

    url: str
    members: tuple[tuple[str, str], ...]
    sha256: str | None = None


Source = RemoteFiles | RemoteArchive


def github_raw(repo: str, commit: str) -> str:
    """URL template of the raw files of a GitHub repository at a pinned commit."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{{path}}"


def remote_url(source: RemoteFiles, relpath: str) -> str | None:
    """The URL that ``source`` downloads the registered file ``relpath`` from, or None
    if it does not match.

    ``relpath`` matches when it starts with ``source.local_prefix`` and matches
    ``source.pattern`` (fnmatch, case-sensitive, on the whole local path). The remote
    path is ``remote_prefix + rest + remote_suffix`` (``rest``: ``relpath`` after the
    local prefix), percent-quoted into the URL template.
    """
    if not relpath.startswith(source.local_prefix) or not fnmatch.fnmatchcase(
        relpath, source.pattern
    ):
        return None
    remote = (
        source.remote_prefix
        + relpath[len(source.local_prefix) :]
        + source.remote_suffix
    )
    return source.url_template.format(path=urllib.parse.quote(remote))


def archive_local_path(source: RemoteArchive, member: str) -> str | None:
    """The local path of archive member ``member`` under the first matching ``members``
    prefix, else None.
    """
    for archive_prefix, local_prefix in source.members:
        if member.startswith(archive_prefix):
            return local_prefix + member[len(archive_prefix) :]
    return None


def source_covers(source: RemoteFiles | RemoteArchive, relpath: str) -> bool:
    """Whether ``source`` can produce the registered file ``relpath``.

    A :class:`RemoteFiles` covers the files :func:`remote_url` maps; a
    :class:`RemoteArchive` covers every path equal to, or starting with, one of its
    local prefixes (whether the archive really holds the member is only known after
    downloading it).
    """
    if isinstance(source, RemoteFiles):
        return remote_url(source, relpath) is not None
    return any(
        relpath == local or relpath.startswith(local) for _, local in source.members
    )
