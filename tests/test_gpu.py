"""Checks that need a CUDA GPU (skipped elsewhere, CI included): device choice and
deterministic training there.
"""

from __future__ import annotations

import pytest
import torch

from minilib import setup
from minilib.train import fit

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"
)


def _train_once(device: torch.device) -> torch.Tensor:
    setup("00_gpu", "ci", 0, None, "cuda", verbose=False)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 3, 16, 16, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0).float()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 1),
    )

    def loss_fn(m, batch):
        xb, yb = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(
            m(xb).squeeze(-1), yb
        )

    fit(
        model,
        loader,
        loss_fn,
        torch.optim.Adam(model.parameters(), 1e-2),
        epochs=3,
        device=device,
        progress=False,
    )
    return torch.cat([p.detach().flatten().cpu() for p in model.parameters()])


def test_auto_device_is_cuda():
    params = setup("00_gpu", "ci", 0, None, "auto", verbose=False)
    assert params.device.startswith("cuda")


def test_training_on_cuda_is_deterministic():
    device = torch.device("cuda")
    assert torch.equal(_train_once(device), _train_once(device))
