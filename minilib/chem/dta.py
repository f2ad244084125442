"""Light drug-target affinity models on ECFP fingerprints, and their errors per
similarity bin.

The SAE paper evaluates five published DTA methods. On a 2-core CPU without pretrained
weights the chapter uses two stand-ins that read the same molecule representation the
splits are built on, ECFP4 bits:

- :class:`FingerprintMLP`, a two-hidden-layer perceptron trained with :func:`train_mlp`
  (Adam, MSE, early stopping on a validation slice of the training set);
- :func:`random_forest`, scikit-learn's ``RandomForestRegressor``.

:func:`per_bin_errors` then scores predictions separately in each bin of test-to-train
similarity, which is the point of the SAE evaluation: the error on compounds unlike
anything in training.

Used by the SAE chapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from minilib.chem.similarity import SIMILARITY_BINS
from minilib.metrics import pearson, rmse
from minilib.train import History, Validate, fit

__all__ = [
    "FingerprintMLP",
    "per_bin_errors",
    "predict_mlp",
    "random_forest",
    "train_mlp",
]


class FingerprintMLP(nn.Module):
    """``x (B, n_bits) -> affinity (B,)``: Linear-ReLU-Dropout layers of widths
    ``hidden``, then a Linear to 1.

    Used by the SAE chapter.
    """

    def __init__(
        self,
        n_bits: int = 2048,
        hidden: Sequence[int] = (512, 128),
        dropout: float = 0.2,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_bits
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator
):
    class _Epochs:
        def __len__(self):
            return math.ceil(len(x) / batch_size)

        def __iter__(self):
            order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                yield x[idx], y[idx]

    return _Epochs()


def train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: Sequence[int] = (512, 128),
    dropout: float = 0.2,
    epochs: int = 60,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    batch_size: int = 128,
    val_fraction: float = 0.1,
    patience: int = 8,
    seed: int = 0,
    progress: bool = False,
) -> tuple[FingerprintMLP, History]:
    """Train a :class:`FingerprintMLP` on fingerprints ``x`` (n, n_bits) and affinities
    ``y`` (n,).

    ``val_fraction`` of the rows (drawn with ``seed``) are held out for early stopping
    on their MSE; the best epoch's weights are kept. The targets are standardised inside
    (the model predicts in the original unit). Returns the model (eval mode) and the
    :class:`~minilib.train.History`. Deterministic for a given seed.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(y) < 10:
        raise ValueError(
            f"need x (n, n_bits) and y (n,) with n >= 10, got {x.shape} and {y.shape}"
        )
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    order = torch.randperm(len(y), generator=gen).numpy()
    n_val = max(1, int(round(val_fraction * len(y))))
    val, tr = order[:n_val], order[n_val:]
    mean, std = float(y[tr].mean()), float(y[tr].std() or 1.0)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor((y - mean) / std, dtype=torch.float32)
    model = FingerprintMLP(x.shape[1], hidden, dropout)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    def loss_fn(m, batch):
        xb, yb = batch
        return nn.functional.mse_loss(m(xb), yb)

    def val_fn(m):
        return {"val_loss": float(nn.functional.mse_loss(m(xt[val]), yt[val]))}

    history = fit(
        model,
        _batches(xt[tr], yt[tr], batch_size, gen),
        loss_fn,
        opt,
        epochs=epochs,
        callbacks=[Validate(val_fn, monitor="val_loss", patience=patience)],
        progress=progress,
        desc="fingerprint MLP",
    )
    model.eval()
    model.target_mean, model.target_std = mean, std  # type: ignore[attr-defined]
    return model, history


@torch.no_grad()
def predict_mlp(model: FingerprintMLP, x: np.ndarray) -> np.ndarray:
    """Affinities (n,) predicted by a model from :func:`train_mlp`, in the unit of its
    training targets.
    """
    model.eval()
    out = (
        model(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        .numpy()
        .astype(np.float64)
    )
    return out * model.target_std + model.target_mean  # type: ignore[attr-defined]


def random_forest(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_estimators: int = 200,
    seed: int = 0,
    n_jobs: int = 2,
):
    """A fitted scikit-learn ``RandomForestRegressor`` (``max_features="sqrt"``,
    ``min_samples_leaf=1``) on fingerprints ``x`` (n, n_bits) and affinities ``y`` (n,),
    trained on ``n_jobs`` threads and set to predict on one, so that predictions repeat
    bit for bit. Deterministic for a given seed.
    """
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(
        n_estimators=n_estimators, max_features="sqrt", random_state=seed, n_jobs=n_jobs
    )
    rf.fit(np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.float64))
    # predict in one thread: parallel prediction sums the trees in a varying order
    # (last-bit differences)
    return rf.set_params(n_jobs=1)


def per_bin_errors(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    max_sim: np.ndarray,
    edges: Sequence[float] = SIMILARITY_BINS,
) -> pd.DataFrame:
    """RMSE and Pearson correlation of predictions in each bin of test-to-train
    similarity.

    ``y_true``, ``y_pred``, ``max_sim``: (n,) for the test compounds. One row per bin
    ``[e_k, e_{k+1})`` (the last bin closed) with columns ``bin`` (a label such as
    ``"[0.33, 0.67)"``), ``lo``, ``hi``, ``n``, ``rmse`` and ``pearson``, then one row
    ``"all"``. A metric that is undefined (an empty bin; Pearson with fewer than 3
    compounds or a constant side) is NaN.

    Used by the SAE chapter.
    """
    y_true, y_pred, ms = (
        np.asarray(a, dtype=np.float64) for a in (y_true, y_pred, max_sim)
    )
    if not len(y_true) == len(y_pred) == len(ms):
        raise ValueError(f"lengths differ: {len(y_true)}, {len(y_pred)}, {len(ms)}")
    edges = np.asarray(edges, dtype=np.float64)
    idx = np.clip(np.searchsorted(edges, ms, side="right") - 1, 0, len(edges) - 2)
    rows = []
    cells = [
        (f"[{lo:.2f}, {hi:.2f}{']' if k == len(edges) - 2 else ')'}", lo, hi, idx == k)
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    cells.append(("all", edges[0], edges[-1], np.ones(len(ms), dtype=bool)))
    for label, lo, hi, sel in cells:
        n = int(sel.sum())
        r = rmse(y_true[sel], y_pred[sel]) if n else math.nan
        try:
            p = pearson(y_true[sel], y_pred[sel]) if n >= 3 else math.nan
        except ValueError:  # a constant side
            p = math.nan
        rows.append(
            {
                "bin": label,
                "lo": float(lo),
                "hi": float(hi),
                "n": n,
                "rmse": r,
                "pearson": p,
            }
        )
    return pd.DataFrame(rows)
