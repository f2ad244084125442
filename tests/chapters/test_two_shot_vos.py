"""The two-shot VOS chapter's recorded results (results/06_two_shot_vos.json at scale
ci, results/full/ when committed).

The chapter asserts its claims itself. These tests re-read the recorded values: exact
where the data fix them (frame counts, the labeled-frame draw, the hand-made J and F),
and as relations where training is involved, so a change of CPU cannot break them while
a change of behaviour does.
"""

from __future__ import annotations

import numpy as np
import pytest

CHAPTER = "06_two_shot_vos"
FRAMES = {  # ../shared/data/davis2017/SOURCE.md
    "boat": 75,
    "dance-jump": 60,
    "dog-agility": 25,
    "drift-turn": 64,
    "rollerblade": 35,
    "blackswan": 50,
    "car-shadow": 40,
    "dog": 60,
    "drift-chicane": 52,
    "libby": 49,
}
TRAIN = ("boat", "dance-jump", "dog-agility", "drift-turn", "rollerblade")
VAL = ("blackswan", "car-shadow", "dog", "drift-chicane", "libby")
KEYS = ("(a) full", "(b) two-shot, naive", "(c) two-shot + pseudo-labels")


def test_data_and_labeled_frames(r):
    assert r["frames"] == FRAMES
    # two distinct frames per training video, drawn with the chapter's seed (0): the
    # draw is reproducible
    rng = np.random.default_rng(0)
    expected = {
        n: sorted(int(i) for i in rng.choice(FRAMES[n], size=2, replace=False))
        for n in TRAIN
    }
    assert r["labeled_frames"] == expected


def test_hand_made_j_and_f(r):
    hand, got = r["hand_made_jf"]["by_hand"], r["hand_made_jf"]["minilib"]
    assert set(hand) == set(got) and len(hand) == 9
    for k, v in hand.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k
    assert hand["case 1 F"] == pytest.approx(6 / 7)


def test_val_scores_are_consistent(r):
    scores = r["val_scores"]
    for key in KEYS + ("copy the first mask",):
        per = [scores[f"{key}/seed0/{n}"] for n in VAL]
        for s in per:
            assert 0 <= s["J"] <= 1 and 0 <= s["F"] <= 1
            assert s["J&F"] == pytest.approx((s["J"] + s["F"]) / 2)
        assert r["val_jf"][key] == pytest.approx(np.mean([s["J&F"] for s in per]))
    diff = [
        scores[f"{KEYS[2]}/seed0/{n}"]["J&F"] - scores[f"{KEYS[1]}/seed0/{n}"]["J&F"]
        for n in VAL
    ]
    assert r["c_minus_b"]["mean"] == pytest.approx(np.mean(diff))
    assert r["c_minus_b"]["videos_ahead"] == sum(d > 0 for d in diff)


def test_models_track_and_pseudo_labels_beat_copying(r):
    assert r["val_jf"]["(a) full"] > r["val_jf"]["copy the first mask"]
    pl = r["pseudo_label_j"]
    cn = r["copy_nearest_j"]
    assert set(pl) == {f"{n}/seed0" for n in TRAIN}
    assert np.mean(list(pl.values())) > np.mean(list(cn.values()))


def test_budget_is_the_same(r):
    """(a), (b) and phase 2 of (c) train for the same number of steps (counted, not
    timed); phase 1 is the recipe's extra cost."""
    steps = r["train_steps"]
    same = {steps[f"{k}/seed0"] for k in KEYS}
    assert len(same) == 1 and same.pop() > 0
    assert 0 < steps["(c) phase 1/seed0"] < steps[f"{KEYS[0]}/seed0"]


def test_full_run(full):
    jf = full["val_jf"]
    a, b, c = (jf[k] for k in KEYS)
    assert c > b
    assert c - b >= 0.5 * (a - b)
    assert len(full["val_jf_per_seed"]["(a) full"]) == 3
