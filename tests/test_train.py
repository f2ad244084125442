"""minilib.train.fit: learning, history, validation and early stopping, the best
iterate, step-based runs, schedules, the mean teacher, checkpoints, errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from minilib.runtime import set_seed
from minilib.train import (
    Callback,
    EMATeacher,
    Schedule,
    Validate,
    ema_update,
    fit,
    mean_teacher,
    to_device,
)


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


def _sgd(model, lr=0.1):
    return torch.optim.SGD(model.parameters(), lr=lr)


def test_fit_learns_and_records_history():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    hist = fit(model, _data(), _mse, _sgd(model), epochs=5, progress=False)
    assert len(hist) == 5 and hist["epoch"] == [1, 2, 3, 4, 5]
    assert hist["step"] == [8, 16, 24, 32, 40]  # 256 rows in batches of 32
    assert hist["train_loss"][-1] < 0.05 < hist["train_loss"][0]
    assert len(hist.steps) == 40 and hist.steps[-1]["step"] == 40
    assert list(hist.frame().columns) == ["epoch", "step", "train_loss", "seconds"]
    # without validation there is no best iterate: the last weights are kept
    assert hist.monitor is None and hist.best_step is None
    assert not model.training  # left in eval mode
    assert torch.allclose(
        model.weight.detach(), torch.tensor([[1.0, -2.0, 0.5]]), atol=0.1
    )


def test_epoch_loss_is_the_mean_of_its_step_losses():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    hist = fit(model, _data(), _mse, _sgd(model), epochs=2, progress=False)
    first = [r["loss"] for r in hist.steps[:8]]
    assert hist["train_loss"][0] == pytest.approx(sum(first) / 8, rel=1e-12)


def test_fit_is_deterministic():
    def run():
        set_seed(3)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        fit(model, _data(), _mse, opt, epochs=2, progress=False)
        return model.weight.detach().clone()

    assert torch.equal(run(), run())


def test_early_stopping_restores_best_weights():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    scores = iter([0.5, 0.7, 0.6, 0.6, 0.6, 0.9])
    snapshots = []

    def val_fn(m):
        assert not m.training
        snapshots.append(m.weight.detach().clone())
        return {"val_auc": next(scores)}

    validate = Validate(val_fn, monitor="val_auc", mode="max", patience=3)
    hist = fit(
        model,
        _data(),
        _mse,
        _sgd(model, 0.01),
        epochs=6,
        callbacks=[validate],
        progress=False,
    )
    assert hist.stopped_early and len(hist) == 5
    assert hist.best_epoch == 2 and hist.best_score == 0.7 and hist.best_step == 16
    assert hist["val_auc"] == [0.5, 0.7, 0.6, 0.6, 0.6]
    assert torch.equal(model.weight.detach(), snapshots[1])


def test_patience_reached_on_the_last_epoch_is_not_an_early_stop():
    model = torch.nn.Linear(3, 1)
    scores = iter([0.5, 0.4])
    validate = Validate(lambda m: {"val_loss": next(scores)}, patience=1)
    hist = fit(model, _data(), _mse, _sgd(model), epochs=2, callbacks=[validate])
    assert len(hist) == 2 and not hist.stopped_early


def test_validate_every_k_steps_over_an_endless_sampler():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    loader = _data()
    endless = itertools.cycle(list(loader))  # no len: a sampler
    seen = []

    def val_fn(m):
        seen.append(len(seen))
        return {"val_loss": float(m.weight.abs().sum())}

    hist = fit(
        model,
        endless,
        _mse,
        _sgd(model),
        steps=25,
        callbacks=[Validate(val_fn, every=10)],
        progress=False,
    )
    assert len(hist.steps) == 25 and len(hist) == 0  # no epochs without a length
    assert [e["step"] for e in hist.evals] == [10, 20, 25]  # and after the last step


def test_steps_bound_a_finite_loader_and_cycle_it():
    model = torch.nn.Linear(3, 1)
    hist = fit(model, _data(), _mse, _sgd(model), steps=20, progress=False)
    assert len(hist.steps) == 20
    assert len(hist) == 2  # two complete passes of 8 steps; the third is partial
    hist = fit(model, _data(), _mse, _sgd(model), epochs=1, steps=100, progress=False)
    assert len(hist.steps) == 8  # the first bound reached ends the run


def test_schedule_per_step_and_per_epoch():
    model = torch.nn.Linear(3, 1)
    opt = _sgd(model, 1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, _data(), _mse, opt, steps=3, callbacks=[Schedule(sched)])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5**3)
    opt = _sgd(model, 1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, _data(), _mse, opt, epochs=2, callbacks=[Schedule(sched, "epoch")])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)


def test_ema_teacher_follows_the_student_after_every_step():
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    teacher = mean_teacher(model)
    assert not any(p.requires_grad for p in teacher.parameters())
    expected = teacher.weight.detach().clone()

    class Record(Callback):
        def on_step_end(self, state):
            nonlocal expected
            expected = 0.5 * expected + 0.5 * state.model.weight.detach()

    # Record runs after the teacher's update in the same step: replay it by hand
    fit(
        model,
        _data(),
        _mse,
        _sgd(model),
        steps=3,
        callbacks=[EMATeacher(teacher, 0.5), Record()],
    )
    torch.testing.assert_close(teacher.weight.detach(), expected)
    assert not teacher.training


def test_ema_update_and_its_errors():
    s, t = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        s.weight.fill_(1.0)
        t.weight.fill_(0.0)
    ema_update(t, s, 0.9)
    torch.testing.assert_close(t.weight, torch.full((1, 2), 0.1))
    with pytest.raises(ValueError, match="decay"):
        ema_update(t, s, 1.5)
    with pytest.raises(ValueError, match="decay"):
        EMATeacher(t, -0.1)


def test_best_iterate_checkpoint_on_disk(tmp_path):
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    scores = iter([0.3, 0.1, 0.2])
    path = tmp_path / "ckpt" / "best.pt"
    validate = Validate(lambda m: {"val_loss": next(scores)}, checkpoint=path)
    fit(model, _data(), _mse, _sgd(model), epochs=3, callbacks=[validate])
    saved = torch.load(path, weights_only=True)
    assert torch.equal(saved["weight"], model.weight.detach())  # epoch 2 restored
    assert [p.name for p in path.parent.iterdir()] == ["best.pt"]  # no temp files


def test_loss_extras_are_kept_per_step():
    model = torch.nn.Linear(3, 1)

    def loss_fn(m, batch):
        loss = _mse(m, batch)
        return loss, {"double": 2 * loss.detach(), "constant": 1}

    hist = fit(model, _data(), loss_fn, _sgd(model), steps=3)
    assert [r["constant"] for r in hist.steps] == [1.0, 1.0, 1.0]
    assert all(r["double"] == pytest.approx(2 * r["loss"]) for r in hist.steps)


def test_fit_errors():
    model = torch.nn.Linear(3, 1)
    opt = _sgd(model)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, _data(), _mse, opt, epochs=0)
    with pytest.raises(ValueError, match="epochs, steps or both"):
        fit(model, _data(), _mse, opt)
    with pytest.raises(ValueError, match="give steps"):
        fit(model, iter(list(_data())), _mse, opt, epochs=1)
    with pytest.raises(ValueError, match="mode"):
        Validate(lambda m: {}, mode="up")
    with pytest.raises(KeyError, match="val_loss"):
        fit(
            model,
            _data(),
            _mse,
            opt,
            epochs=1,
            callbacks=[Validate(lambda m: {"auc": 1.0})],
        )
    with pytest.raises(FloatingPointError, match="NaN"):
        fit(
            model,
            _data(),
            _mse,
            opt,
            epochs=1,
            callbacks=[Validate(lambda m: {"val_loss": float("nan")})],
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
    with pytest.raises(ValueError, match="no batch"):
        fit(model, [], _mse, opt, epochs=1)


def test_to_device_nested():
    batch = {"x": torch.ones(2), "y": [torch.zeros(1), (torch.ones(1), "id")]}
    out = to_device(batch, "cpu")
    assert out["y"][1][1] == "id"
    assert isinstance(out["y"], list) and isinstance(out["y"][1], tuple)
