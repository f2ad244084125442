"""KuaiRand loaders: the real files (counts from kuairand/SOURCE.md) and generated
broken files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minilib.data import ChecksumMismatchError, DatasetNotFoundError, MalformedDataError
from minilib.data.kuairand import (
    FEEDBACK,
    LOG_COLUMNS,
    LOG_FILE,
    USER_COLUMNS,
    VIDEO_COLUMNS,
    load_kuairand_log,
    load_kuairand_users,
    load_kuairand_videos,
)

# --------------------------------------------------------------------------------------
# real data


@pytest.fixture(scope="module")
def real_log():
    env = os.environ.get("MINILIB_DATA")
    if not env or not Path(env).is_dir():
        pytest.skip(
            "the datasets are not available: set MINILIB_DATA (make test uses "
            "../shared/data)"
        )
    return load_kuairand_log()


@pytest.mark.data
def test_log_counts(data_root, real_log):
    log = real_log
    assert log.shape == (43_028, 19)
    assert tuple(log.columns) == LOG_COLUMNS
    assert (log.dtypes == np.int64).all()
    assert log["user_id"].nunique() == 1_000
    assert (log["user_id"].min(), log["user_id"].max()) == (0, 999)
    assert log["video_id"].nunique() == 7_388
    per_user = log.groupby("user_id").size()
    assert (per_user.min(), per_user.median(), per_user.max()) == (10, 22, 650)
    assert log["tab"].value_counts().to_dict() == {1: 42_636, 11: 304, 2: 73, 14: 15}
    assert round(log["is_click"].mean(), 4) == 0.1741
    assert round(log["long_view"].mean(), 4) == 0.0842
    assert int(log["is_profile_enter"].sum()) == 198
    assert (log["is_rand"] == 1).all()
    assert isinstance(log.index, pd.RangeIndex)


@pytest.mark.data
def test_log_sorted_and_one_duplicate(data_root, real_log):
    log = real_log
    key = log[["user_id", "time_ms"]].to_numpy()
    assert (np.diff(key[:, 0]) >= 0).all()
    same_user = np.diff(key[:, 0]) == 0
    assert (np.diff(key[:, 1])[same_user] >= 0).all()
    dup = log[log.duplicated(keep=False)]
    assert len(dup) == 2
    assert dup[
        ["user_id", "video_id", "time_ms"]
    ].drop_duplicates().values.tolist() == [[940, 4121, 1651499805466]]
    dedup = load_kuairand_log(drop_duplicates=True)
    assert len(dedup) == 43_027
    assert not dedup.duplicated().any()
    assert isinstance(dedup.index, pd.RangeIndex)


@pytest.mark.data
def test_log_path_reads_same_file_without_registry(data_root, tmp_path, real_log):
    copy = tmp_path / "log_standard_copy.csv"
    copy.write_bytes((data_root / "kuairand" / LOG_FILE).read_bytes())
    pd.testing.assert_frame_equal(load_kuairand_log(path=copy), real_log)


@pytest.mark.data
def test_users(data_root):
    users = load_kuairand_users()
    assert users.shape == (27_285, 31)
    assert tuple(users.columns) == USER_COLUMNS
    assert users["user_id"].tolist() == list(range(27_285))
    assert users["user_active_degree"].value_counts().to_dict() == {
        "full_active": 17_959,
        "high_active": 6_158,
        "middle_active": 2_133,
        "2_14_day_new": 635,
        "low_active": 300,
        "single_low_active": 68,
        "30day_retention": 15,
        "day_new": 11,
        "UNKNOWN": 6,
    }
    assert users["is_live_streamer"].value_counts().to_dict() == {
        -124: 21_127,
        1: 6_158,
    }
    assert (users["is_lowactive_period"] == 0).all()
    assert users["onehot_feat4"].dtype == "Int64"
    assert int(users["onehot_feat4"].isna().sum()) == 874
    for i in range(12, 18):
        col = users[f"onehot_feat{i}"]
        assert col.dtype == "Int64"
        assert int(col.isna().sum()) == 714
        assert set(col.dropna().unique()) <= {0, 1}
    assert users["onehot_feat3"].dtype == np.int64
    assert users["onehot_feat3"].nunique() == 1_471
    for c in (
        "user_active_degree",
        "follow_user_num_range",
        "fans_user_num_range",
        "friend_user_num_range",
        "register_days_range",
    ):
        assert users[c].dtype == "string", c
    assert "[100,1k)" in set(users["fans_user_num_range"])
    assert users["follow_user_num"].median() == 155


@pytest.mark.data
def test_videos(data_root, real_log):
    videos = load_kuairand_videos()
    assert len(videos) == 7_583
    assert tuple(videos.columns) == (*VIDEO_COLUMNS, "tag_list")
    assert videos["video_id"].tolist() == list(range(7_583))
    assert videos["music_id"].dtype == np.int64
    assert videos["music_id"].max() > 2**31
    assert int(videos["video_duration"].isna().sum()) == 239
    assert int(videos["music_type"].isna().sum()) == 203
    assert videos["video_type"].value_counts().to_dict() == {
        "NORMAL": 7_506,
        "AD": 76,
        "UNKNOWN": 1,
    }
    n_tags = videos["tag_list"].map(len)
    assert int((n_tags > 1).sum()) == 1_791
    assert int((n_tags == 0).sum()) == 96
    assert all(isinstance(t, tuple) for t in videos["tag_list"])
    # SOURCE.md says "47 distinct tags": its recipe `fillna("").str.split(",")` counts
    # the empty string of the 96 untagged videos as a tag. The integer tag ids are 46.
    tags = {t for ts in videos["tag_list"] for t in ts}
    assert len(tags) == 46
    assert len(tags) + 1 == 47
    assert videos.loc[videos["tag"] == "20,43", "tag_list"].iloc[0] == (20, 43)
    # the log's videos are in the pool, and durations agree where the table has one
    assert real_log["video_id"].max() < 7_583
    merged = real_log.drop_duplicates("video_id").merge(videos, on="video_id")
    has = merged["video_duration"].notna()
    assert int(has.sum()) == 7_161
    assert (merged.loc[has, "duration_ms"] == merged.loc[has, "video_duration"]).all()


# -------------------------------------------------------------------------------------
# generated files

HEADER = ",".join(LOG_COLUMNS)


def _row(user=0, video=1, t=1_651_314_030_792, **over) -> list[str]:
    vals = dict(
        zip(LOG_COLUMNS, [user, video, 20220430, 1800, t] + [0] * 14, strict=True)
    )
    vals.update(play_time_ms=863, duration_ms=30_066, is_rand=1, tab=1)
    vals.update(over)
    return [str(vals[c]) for c in LOG_COLUMNS]


def _log(rows: list[list[str]], header: str = HEADER) -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode()


def _good_rows() -> list[list[str]]:
    return [
        _row(user=1, video=5, t=300),
        _row(user=0, video=7, t=200, is_click=1),
        _row(user=0, video=8, t=100),
        # same time as the second row: stable sort keeps file order
        _row(user=0, video=9, t=200),
    ]


def test_fake_log_loads_sorted(fake_dataset):
    root = fake_dataset("kuairand", {LOG_FILE: _log(_good_rows())})
    log = load_kuairand_log(root)
    assert log[["user_id", "video_id"]].values.tolist() == [
        [0, 8],
        [0, 7],
        [0, 9],
        [1, 5],
    ]
    assert (log.dtypes == np.int64).all()
    assert set(FEEDBACK) <= set(LOG_COLUMNS) and len(FEEDBACK) == 8


def test_fake_log_drop_duplicates(fake_dataset):
    rows = _good_rows()
    rows.insert(2, list(rows[1]))
    fake_dataset("kuairand", {LOG_FILE: _log(rows)})
    assert len(load_kuairand_log()) == 5
    assert len(load_kuairand_log(drop_duplicates=True)) == 4


def test_row_with_18_fields_names_line(fake_dataset):
    rows = _good_rows()
    rows[2] = rows[2][:-1]  # file line 4
    fake_dataset("kuairand", {LOG_FILE: _log(rows)})
    with pytest.raises(MalformedDataError, match=rf"{LOG_FILE}, line 4\b") as e:
        load_kuairand_log()
    assert e.value.line == 4
    assert "18" in str(e.value)


def test_row_with_20_fields_names_line(fake_dataset):
    rows = _good_rows()
    rows[1] = [*rows[1], "0"]  # file line 3
    fake_dataset("kuairand", {LOG_FILE: _log(rows)})
    with pytest.raises(MalformedDataError, match=rf"{LOG_FILE}, line 3\b"):
        load_kuairand_log()


@pytest.mark.parametrize("bad", ["abc", "1.5", ""])
def test_non_integer_value_names_line(fake_dataset, bad):
    rows = _good_rows()
    rows[2][LOG_COLUMNS.index("play_time_ms")] = bad  # file line 4
    fake_dataset("kuairand", {LOG_FILE: _log(rows)})
    with pytest.raises(
        MalformedDataError, match=rf"{LOG_FILE}, line 4\b.*play_time_ms"
    ):
        load_kuairand_log()


def test_blank_line_names_line(fake_dataset):
    # an empty line 2 after the header
    text = _log(_good_rows()).replace(b"\n", b"\n\n", 1)
    fake_dataset("kuairand", {LOG_FILE: text})
    with pytest.raises(MalformedDataError, match=rf"{LOG_FILE}, line 2\b"):
        load_kuairand_log()


@pytest.mark.parametrize("col", ["is_like", "long_view", "is_rand"])
def test_feedback_value_2_names_line(fake_dataset, col):
    rows = _good_rows()
    # file line 5; the loader sorts, but reports file lines
    rows[3][LOG_COLUMNS.index(col)] = "2"
    fake_dataset("kuairand", {LOG_FILE: _log(rows)})
    with pytest.raises(MalformedDataError, match=rf"{LOG_FILE}, line 5\b.*{col}") as e:
        load_kuairand_log()
    assert e.value.line == 5


@pytest.mark.parametrize(
    "header",
    [
        HEADER.replace("is_click", "click"),
        ",".join(LOG_COLUMNS[:-1]),
        ",".join([LOG_COLUMNS[1], LOG_COLUMNS[0], *LOG_COLUMNS[2:]]),
    ],
    ids=["renamed", "missing", "reordered"],
)
def test_wrong_header_names_line_1(fake_dataset, header):
    rows = _good_rows()
    if header.count(",") == 17:
        rows = [r[:-1] for r in rows]
    fake_dataset("kuairand", {LOG_FILE: _log(rows, header=header)})
    with pytest.raises(MalformedDataError, match=rf"{LOG_FILE}, line 1\b"):
        load_kuairand_log()


def test_corrupt_log_checksum(fake_dataset):
    fake_dataset(
        "kuairand", {LOG_FILE: _log(_good_rows())}, checksums={LOG_FILE: "0" * 64}
    )
    with pytest.raises(ChecksumMismatchError, match=LOG_FILE):
        load_kuairand_log()


def test_path_skips_checksum_but_checks_format(tmp_path, monkeypatch):
    monkeypatch.delenv("MINILIB_DATA", raising=False)
    good = tmp_path / "log_standard_4_22_to_5_08_pure.csv"
    good.write_bytes(_log(_good_rows()))
    assert len(load_kuairand_log(path=good)) == 4
    rows = _good_rows()
    rows[0][LOG_COLUMNS.index("is_hate")] = "-1"
    bad = tmp_path / "other.csv"
    bad.write_bytes(_log(rows))
    with pytest.raises(MalformedDataError, match=r"other\.csv, line 2\b"):
        load_kuairand_log(path=bad)
    with pytest.raises(DatasetNotFoundError):
        load_kuairand_log(path=tmp_path / "absent.csv")


def _users_csv(rows: list[str]) -> bytes:
    return ("\n".join([",".join(USER_COLUMNS), *rows]) + "\n").encode()


_USER_ROW = (
    '0,full_active,0,1,1,514,500+,150,"[100,1k)",34,"[30,60)",799,730+,1,1,29,949,1.0,0,0,14,135,6,3,0,'
    "0.0,1.0,0.0,0.0,0.0,0.0"
)
_USER_ROW_EMPTY = (
    '1,full_active,0,-124,1,457,"(250,500]",20,"[10,100)",3,"[1,5)",1474,730+,1,3,2,1160,,0,0,31,283,6,2,2,'
    ",,,,,"
)


def test_fake_users_dtypes(fake_dataset):
    fake_dataset(
        "kuairand", {"user_features_pure.csv": _users_csv([_USER_ROW, _USER_ROW_EMPTY])}
    )
    users = load_kuairand_users()
    assert users.shape == (2, 31)
    assert users["onehot_feat4"].tolist()[0] == 1 and users[
        "onehot_feat4"
    ].isna().tolist() == [False, True]
    assert users["onehot_feat12"].dtype == "Int64"
    assert users["is_live_streamer"].tolist() == [1, -124]
    assert users["fans_user_num_range"].tolist() == ["[100,1k)", "[10,100)"]


def test_fake_users_bad_onehot_names_line(fake_dataset):
    bad = _USER_ROW_EMPTY.replace(",1160,,", ",1160,0.5,")
    fake_dataset("kuairand", {"user_features_pure.csv": _users_csv([_USER_ROW, bad])})
    with pytest.raises(
        MalformedDataError, match=r"user_features_pure\.csv, line 3\b.*onehot_feat4"
    ):
        load_kuairand_users()


def _videos_csv(rows: list[str]) -> bytes:
    return ("\n".join([",".join(VIDEO_COLUMNS), *rows]) + "\n").encode()


def test_fake_videos_tags(fake_dataset):
    fake_dataset(
        "kuairand",
        {
            "video_features_basic_pure.csv": _videos_csv(
                [
                    "0,7349781,NORMAL,2022-04-10,LongImport,0.0,87433.0,720.0,1280.0,9155697141,9.0,39",
                    '1,2103883,NORMAL,2022-04-10,Kmovie,0.0,,720.0,1280.0,6355810746,,"20,43"',
                    "2,5067285,AD,2022-04-09,ShortImport,0.0,9233.0,720.0,1280.0,6618412736,4.0,",
                ]
            )
        },
    )
    videos = load_kuairand_videos()
    assert videos["tag_list"].tolist() == [(39,), (20, 43), ()]
    assert np.isnan(videos["video_duration"].iloc[1]) and np.isnan(
        videos["music_type"].iloc[1]
    )
    assert videos["music_id"].tolist() == [9155697141, 6355810746, 6618412736]


def test_fake_videos_bad_tag_names_line(fake_dataset):
    fake_dataset(
        "kuairand",
        {
            "video_features_basic_pure.csv": _videos_csv(
                [
                    "0,7349781,NORMAL,2022-04-10,LongImport,0.0,87433.0,720.0,1280.0,9155697141,9.0,39",
                    '1,2103883,NORMAL,2022-04-10,Kmovie,0.0,,720.0,1280.0,6355810746,,"20,x"',
                ]
            )
        },
    )
    with pytest.raises(
        MalformedDataError, match=r"video_features_basic_pure\.csv, line 3\b.*tag"
    ):
        load_kuairand_videos()
