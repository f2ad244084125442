"""minilib.train.fit under torch.distributed (gloo, 2 CPU processes): the loop the full
scale runs with torchrun.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import torch
import torch.multiprocessing as mp


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    from minilib.train import fit

    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    torch.manual_seed(0)
    x = torch.randn(128, 3, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    dataset = torch.utils.data.TensorDataset(x, y)
    sampler = torch.utils.data.distributed.DistributedSampler(
        dataset, num_replicas=world, rank=rank, seed=0
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, sampler=sampler)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))

    def loss_fn(m, batch):
        xb, yb = batch
        return torch.nn.functional.mse_loss(m(xb).squeeze(-1), yb)

    hist = fit(
        model,
        loader,
        loss_fn,
        torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        progress=False,
    )
    weights = model.module.weight.detach().flatten().tolist()
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump({"loss": hist["train_loss"], "weights": weights}, f)
    dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.skipif(
    not torch.distributed.is_available() or sys.platform == "win32", reason="needs gloo"
)
def test_fit_under_ddp_agrees_across_ranks(tmp_path):
    mp.spawn(
        _worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True
    )
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    # the epoch loss is averaged over every step of every rank
    assert r0["loss"] == r1["loss"]
    assert r0["weights"] == r1["weights"]  # DDP keeps the replicas identical
    assert r0["loss"][-1] < r0["loss"][0]
