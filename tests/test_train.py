"""minilib.train.fit: learning, history, early stopping, best-weight restore, errors."""

from __future__ import annotations

import pytest
import torch

from minilib.runtime import set_seed
from minilib.train import fit, to_device


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=False
    )


def _mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x).squeeze(-1), y)


def test_fit_learns_and_records_history():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    loader = _data()
    hist = fit(
        model,
        loader,
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=5,
        progress=False,
    )
    assert len(hist) == 5 and hist["epoch"] == [1, 2, 3, 4, 5]
    assert hist["train_loss"][-1] < 0.05 < hist["train_loss"][0]
    assert hist.best_epoch == 5 and hist.monitor == "train_loss"
    assert list(hist.frame().columns) == ["epoch", "train_loss", "seconds"]
    assert torch.allclose(
        model.weight.detach(), torch.tensor([[1.0, -2.0, 0.5]]), atol=0.1
    )


def test_fit_is_deterministic():
    def run():
        set_seed(3)
        model = torch.nn.Linear(3, 1)
        fit(
            model,
            _data(),
            _mse,
            torch.optim.Adam(model.parameters(), lr=0.05),
            epochs=2,
            progress=False,
        )
        return model.weight.detach().clone()

    assert torch.equal(run(), run())


def test_early_stopping_restores_best_weights():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    scores = iter([0.5, 0.7, 0.6, 0.6, 0.6, 0.9])
    snapshots = []

    def val_fn(m):
        snapshots.append(m.weight.detach().clone())
        return {"val_auc": next(scores)}

    hist = fit(
        model,
        _data(),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=6,
        val_fn=val_fn,
        monitor="val_auc",
        mode="max",
        patience=3,
        progress=False,
    )
    assert hist.stopped_early and len(hist) == 5
    assert hist.best_epoch == 2 and hist.best_score == 0.7
    assert torch.equal(model.weight.detach(), snapshots[1])


def test_fit_errors():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, _data(), _mse, opt, epochs=0)
    with pytest.raises(ValueError, match="mode"):
        fit(model, _data(), _mse, opt, epochs=1, mode="up")
    with pytest.raises(KeyError, match="val_loss"):
        fit(
            model,
            _data(),
            _mse,
            opt,
            epochs=1,
            val_fn=lambda m: {"auc": 1.0},
            progress=False,
        )
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        fit(
            model,
            _data(),
            lambda m, b: torch.tensor(float("nan"), requires_grad=True),
            opt,
            epochs=1,
            progress=False,
        )


def test_to_device_nested():
    batch = {"x": torch.ones(2), "y": [torch.zeros(1), (torch.ones(1), "id")]}
    out = to_device(batch, "cpu")
    assert (
        out["y"][1][1] == "id"
        and isinstance(out["y"], list)
        and isinstance(out["y"][1], tuple)
    )
