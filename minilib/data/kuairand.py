"""KuaiRand: the KuaiRand-1K random-exposure log and the KuaiRand-Pure user and video
feature tables.

Used by the datasets chapter and by the PEPNet, TWIN, TWIN-V2 and Pyramid Mixer
chapters. Every file is read through :func:`minilib.data.registry.locate`
(sha256-checked) and :func:`minilib.data._io.read_csv_checked`, so a malformed row
raises :class:`~minilib.data.errors.MalformedDataError` naming the file and its line
(the header is line 1) instead of returning a half result. See ``kuairand/SOURCE.md`` in
the data root for the provenance.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from ._io import read_csv_checked
from .errors import DatasetNotFoundError, MalformedDataError
from .registry import locate

DATASET = "kuairand"
LOG_FILE = "log_random_4_22_to_5_08_1k.csv"
USERS_FILE = "user_features_pure.csv"
VIDEOS_FILE = "video_features_basic_pure.csv"

#: The 19 columns of every official KuaiRand log file, in file order.
LOG_COLUMNS: tuple[str, ...] = (
    "user_id",
    "video_id",
    "date",
    "hourmin",
    "time_ms",
    "is_click",
    "is_like",
    "is_follow",
    "is_comment",
    "is_forward",
    "is_hate",
    "long_view",
    "play_time_ms",
    "duration_ms",
    "profile_stay_time",
    "comment_stay_time",
    "is_profile_enter",
    "is_rand",
    "tab",
)

#: The binary (0/1) feedback columns of the log.
FEEDBACK: tuple[str, ...] = (
    "is_click",
    "is_like",
    "is_follow",
    "is_comment",
    "is_forward",
    "is_hate",
    "long_view",
    "is_profile_enter",
)

# Columns that must be 0/1 in every log: the feedback plus the random-exposure flag.
_BINARY = (*FEEDBACK, "is_rand")

_RANGE_COLUMNS = (
    "follow_user_num_range",
    "fans_user_num_range",
    "friend_user_num_range",
    "register_days_range",
)
# The one-hot fields stored as floats ("1.0") with empty cells; read as nullable Int64
# categories.
_FLOAT_ONEHOT = ("onehot_feat4", *(f"onehot_feat{i}" for i in range(12, 18)))

USER_COLUMNS: tuple[str, ...] = (
    "user_id",
    "user_active_degree",
    "is_lowactive_period",
    "is_live_streamer",
    "is_video_author",
    "follow_user_num",
    "follow_user_num_range",
    "fans_user_num",
    "fans_user_num_range",
    "friend_user_num",
    "friend_user_num_range",
    "register_days",
    "register_days_range",
    *(f"onehot_feat{i}" for i in range(18)),
)

VIDEO_COLUMNS: tuple[str, ...] = (
    "video_id",
    "author_id",
    "video_type",
    "upload_dt",
    "upload_type",
    "visible_status",
    "video_duration",
    "server_width",
    "server_height",
    "music_id",
    "music_type",
    "tag",
)
_VIDEO_KINDS = {
    "video_id": "int",
    "author_id": "int",
    "video_type": "str",
    "upload_dt": "str",
    "upload_type": "str",
    "visible_status": "float",
    "video_duration": "float",
    "server_width": "float",
    "server_height": "float",
    "music_id": "int",
    "music_type": "float",
    "tag": "str",
}
_VIDEO_NULLABLE = frozenset({"video_duration", "music_type"})

# Line numbers must equal row index + offset, so blank lines are rows (and are
# reported), never skipped.
_READ = {"skip_blank_lines": False}


def _check_header(path: Path, expected: tuple[str, ...]) -> None:
    """Raise MalformedDataError (line 1) unless the file's header is exactly
    ``expected``.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        head = next(csv.reader(f), None)
    if head is None:
        raise MalformedDataError(path, "the file is empty (no header)", line=1)
    if tuple(head) != expected:
        missing = [c for c in expected if c not in head]
        extra = [c for c in head if c not in expected]
        detail = (
            f"missing {missing}, unexpected {extra}"
            if (missing or extra)
            else "columns out of order"
        )
        raise MalformedDataError(
            path,
            f"header is not the expected {len(expected)} columns ({detail}); expected "
            f"{','.join(expected)}",
            line=1,
        )


def _first_bad(mask: pd.Series) -> int | None:
    """Row index of the first True in ``mask`` (None when none is)."""
    if not mask.any():
        return None
    return int(mask.to_numpy().nonzero()[0][0])


def load_kuairand_log(
    data_dir: str | os.PathLike | None = None,
    *,
    path: str | os.PathLike | None = None,
    drop_duplicates: bool = False,
) -> pd.DataFrame:
    """Load the KuaiRand-1K random-exposure log ``log_random_4_22_to_5_08_1k.csv``.

    Returns one row per impression with the 19 columns of :data:`LOG_COLUMNS`, all
    ``int64``, sorted by ``(user_id, time_ms)`` with a stable sort (ties keep file
    order) and a fresh ``RangeIndex``. The real file has 43,028 rows, 1,000 users
    (0-999) and 7,388 videos; ``time_ms`` (Unix ms) is the order to use, not
    ``date``/``hourmin``. ``drop_duplicates=True`` drops exact repeated rows, keeping
    the first (the real file has one: user 940, video 4121, at file lines
    40,984-40,985).

    ``path=`` reads another official KuaiRand log of the same format instead (e.g. a
    standard log, which is not in the registry): that file is **not** checksum-verified,
    but the same format checks apply and ``data_dir`` is ignored.

    Checks: the header equals :data:`LOG_COLUMNS` exactly; every row has 19 integer
    fields; the columns of :data:`FEEDBACK` and ``is_rand`` are 0 or 1.

    Raises:
        DatasetNotFoundError: the data root or the file is missing (also for a missing
            ``path=``).
        ChecksumMismatchError: the registered file differs from the registry's sha256.
        MalformedDataError: a bad header (line 1), a row with the wrong number of fields
            or a non-integer value, or a binary column outside {0, 1}; the message names
            the file and the first bad line.

    Used by the datasets chapter and the PEPNet, TWIN, TWIN-V2 and Pyramid Mixer
    chapters.
    """
    if path is None:
        file = locate(DATASET, LOG_FILE, data_dir=data_dir)
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise DatasetNotFoundError(
                DATASET,
                file,
                "path= must name an existing KuaiRand log file (19-column official "
                "format).",
                what="log file",
            )
    _check_header(file, LOG_COLUMNS)
    df = read_csv_checked(file, {c: "int" for c in LOG_COLUMNS}, read_kwargs=_READ)
    df = df[list(LOG_COLUMNS)]
    for col in _BINARY:
        i = _first_bad(~df[col].isin((0, 1)))
        if i is not None:
            raise MalformedDataError(
                file,
                f"column {col!r} must be 0 or 1, found {df[col].iat[i]}",
                line=i + 2,
            )
    df = df.sort_values(["user_id", "time_ms"], kind="stable")
    if drop_duplicates:
        df = df.drop_duplicates(keep="first")
    return df.reset_index(drop=True)


def load_kuairand_users(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load the KuaiRand-Pure user table ``user_features_pure.csv``: 27,285 rows x 31
    columns, one per user.

    Columns (file order, :data:`USER_COLUMNS`):

    - ``user_id``, ``is_lowactive_period``, ``is_live_streamer``, ``is_video_author``,
      ``follow_user_num``, ``fans_user_num``, ``friend_user_num``, ``register_days`` and
      ``onehot_feat0``-``3``, ``5``-``11``: ``int64``;
    - ``onehot_feat4`` and ``onehot_feat12``-``17`` (stored as floats with empty cells
      in the file): pandas nullable ``Int64`` with ``<NA>`` for the empties. All
      ``onehot_feat*`` are category indices, not quantities: treat ``<NA>`` as a
      category of its own;
    - ``user_active_degree`` and the four ``*_range`` bucket labels (e.g.
      ``"[100,1k)"``): ``string``.

    ``is_live_streamer`` is kept as in the file: ``1`` or ``-124``. ``-124`` is
    KuaiRand's missing/"no" sentinel, not a number; map it yourself (e.g. to 0) before
    using the column numerically.

    Raises:
        DatasetNotFoundError: the data root or the file is missing.
        ChecksumMismatchError: the file differs from the registry's sha256.
        MalformedDataError: wrong header (line 1), a row with the wrong number of
            fields, a non-integer value or a missing one where none is allowed; names
            the file and the line.

    Used by the datasets chapter and the PEPNet, TWIN, TWIN-V2 and Pyramid Mixer
    chapters.
    """
    file = locate(DATASET, USERS_FILE, data_dir=data_dir)
    _check_header(file, USER_COLUMNS)
    kinds = {
        c: ("str" if c == "user_active_degree" or c in _RANGE_COLUMNS else "int")
        for c in USER_COLUMNS
    }
    df = read_csv_checked(
        file, kinds, nullable=frozenset(_FLOAT_ONEHOT), read_kwargs=_READ
    )
    df = df[list(USER_COLUMNS)]
    for c in ("user_active_degree", *_RANGE_COLUMNS):
        i = _first_bad(df[c].isna())
        if i is not None:
            raise MalformedDataError(file, f"column {c!r}: empty value", line=i + 2)
    for c in _FLOAT_ONEHOT:
        df[c] = df[c].astype("Int64")
    return df


def _parse_tags(file: Path, tags: pd.Series) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for i, value in enumerate(tags.tolist()):
        if value is pd.NA or value is None or value != value or value == "":
            out.append(())
            continue
        try:
            out.append(tuple(int(t) for t in value.split(",")))
        except ValueError:
            raise MalformedDataError(
                file,
                f"column 'tag': {value!r} is not a comma-separated list of integers",
                line=i + 2,
            ) from None
    return out


def load_kuairand_videos(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load the KuaiRand-Pure basic video table ``video_features_basic_pure.csv``: 7,583
    rows, one per video.

    Columns: the 12 of the file (:data:`VIDEO_COLUMNS`) plus ``tag_list``:

    - ``video_id`` (0-7,582), ``author_id``, ``music_id`` (ids up to about 1e10):
      ``int64``;
    - ``video_type``, ``upload_dt`` (``YYYY-MM-DD``, kept as text), ``upload_type``,
      ``tag`` (the raw comma-separated tag ids, ``<NA>`` when empty): ``string``;
    - ``visible_status``, ``video_duration`` (ms, NaN for 239 videos), ``server_width``,
      ``server_height``, ``music_type`` (a category code stored as ``9.0`` etc., NaN for
      203 videos): ``float64``;
    - ``tag_list``: ``object``, a tuple of ``int`` tag ids per row (``()`` for the 96
      videos without a tag).

    Raises:
        DatasetNotFoundError: the data root or the file is missing.
        ChecksumMismatchError: the file differs from the registry's sha256.
        MalformedDataError: wrong header (line 1), a row with the wrong number of
            fields, a value of the wrong kind, or a tag that is not an integer list;
            names the file and the line.

    Used by the datasets chapter and the PEPNet, TWIN, TWIN-V2 and Pyramid Mixer
    chapters.
    """
    file = locate(DATASET, VIDEOS_FILE, data_dir=data_dir)
    _check_header(file, VIDEO_COLUMNS)
    df = read_csv_checked(
        file, _VIDEO_KINDS, nullable=_VIDEO_NULLABLE, read_kwargs=_READ
    )
    df = df[list(VIDEO_COLUMNS)]
    for c in ("video_type", "upload_dt", "upload_type"):
        i = _first_bad(df[c].isna())
        if i is not None:
            raise MalformedDataError(file, f"column {c!r}: empty value", line=i + 2)
    tag_list = pd.Series(_parse_tags(file, df["tag"]), index=df.index, dtype=object)
    df["tag_list"] = tag_list
    return df
