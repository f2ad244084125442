"""minilib.chem.dta: fingerprint MLP, random forest and per-bin errors, on small
fingerprints made here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minilib.chem.dta import per_bin_errors, predict_mlp, random_forest, train_mlp


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(300, 64)) < 0.15).astype(np.uint8)
    w = rng.normal(size=64)
    # a learnable affinity in pKd-like units
    y = 6.0 + x @ w * 0.5 + rng.normal(scale=0.1, size=300)
    return x, y


def test_per_bin_errors_by_hand():
    y = np.array([5.0, 6.0, 7.0, 8.0, 6.0, 7.0])
    p = np.array([5.5, 6.0, 6.0, 8.0, 6.0, 8.0])
    # 3 low, 1 mid, 2 high (1.0 is in the closed last bin)
    ms = np.array([0.1, 0.2, 0.3, 0.5, 0.9, 1.0])
    t = per_bin_errors(y, p, ms)
    assert t["bin"].tolist() == ["[0.00, 0.33)", "[0.33, 0.67)", "[0.67, 1.00]", "all"]
    assert t["n"].tolist() == [3, 1, 2, 6]
    assert t.loc[0, "rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 1) / 3))
    # one compound: no correlation
    assert t.loc[1, "rmse"] == 0.0 and math.isnan(t.loc[1, "pearson"])
    assert t.loc[2, "rmse"] == pytest.approx(math.sqrt(0.5)) and math.isnan(
        t.loc[2, "pearson"]
    )
    assert t.loc[3, "rmse"] == pytest.approx(math.sqrt((0.25 + 1 + 1) / 6))
    with pytest.raises(ValueError, match="lengths"):
        per_bin_errors(y, p, ms[:3])


def test_empty_bin_is_nan():
    t = per_bin_errors([5.0, 6.0, 7.0], [5.0, 6.5, 7.0], [0.8, 0.9, 0.95])
    assert t.loc[0, "n"] == 0 and math.isnan(t.loc[0, "rmse"])


def test_mlp_learns_and_is_deterministic(data):
    x, y = data
    model, history = train_mlp(x[:240], y[:240], hidden=(64,), epochs=40, seed=1)
    pred = predict_mlp(model, x[240:])
    baseline = float(np.sqrt(np.mean((y[240:] - y[:240].mean()) ** 2)))
    err = float(np.sqrt(np.mean((y[240:] - pred) ** 2)))
    assert err < 0.7 * baseline, (err, baseline)
    again, _ = train_mlp(x[:240], y[:240], hidden=(64,), epochs=40, seed=1)
    assert np.array_equal(predict_mlp(again, x[240:]), pred)
    assert len(history) >= 1


def test_random_forest_learns(data):
    x, y = data
    rf = random_forest(x[:240], y[:240], n_estimators=50, seed=0, n_jobs=1)
    err = float(np.sqrt(np.mean((y[240:] - rf.predict(x[240:])) ** 2)))
    baseline = float(np.sqrt(np.mean((y[240:] - y[:240].mean()) ** 2)))
    assert err < baseline


def test_random_forest_predictions_repeat_bit_for_bit(data):
    x, y = data
    a = random_forest(x[:240], y[:240], n_estimators=20, seed=3, n_jobs=2).predict(
        x[240:]
    )
    b = random_forest(x[:240], y[:240], n_estimators=20, seed=3, n_jobs=2).predict(
        x[240:]
    )
    assert np.array_equal(a, b)
