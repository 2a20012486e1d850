"""The one training loop under torchrun: 2 CPU processes (gloo) follow the single-process trajectory
with the same global batch. Tolerance: 1e-5 (the two runs add the same numbers in another order)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch.distributed as dist

SCRIPT = textwrap.dedent('''
    import json, sys
    import torch, torch.distributed as dist
    from torch import nn
    from infobounds.data import BatchStream
    from infobounds.models.base import LossTerms, OptimizerConfig, Trainable
    from infobounds.training import fit

    class LinearRegression(Trainable):
        optim = OptimizerConfig(lr=0.3)

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Linear(5, 1)

        def loss(self, batch):
            x, y = batch
            return LossTerms(terms={"distortion": (self.net(x).squeeze(-1) - y).pow(2).mean()},
                             metrics={"examples": torch.tensor(float(x.shape[0]))})

    distributed = sys.argv[2] == "ddp"
    if distributed:
        dist.init_process_group("gloo")
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(512, 5, generator=gen)
    y = x @ torch.arange(5.0) + 0.1 * torch.randn(512, generator=gen)
    model = LinearRegression()
    result = fit(model, BatchStream(x, y, batch_size=64, seed=3), steps=25, seed=0, progress=False)
    if not distributed or dist.get_rank() == 0:
        json.dump({"loss": result.history["main/distortion"].tolist(),
                   "examples": result.history["main/examples"].tolist(),
                   "weight": model.net.weight.detach().flatten().tolist()}, open(sys.argv[1], "w"))
    if distributed:
        dist.destroy_process_group()
''')


@pytest.mark.skipif(not dist.is_available(), reason="this torch build has no torch.distributed")
def test_two_processes_follow_the_single_process_trajectory(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single, ddp = tmp_path / "single.json", tmp_path / "ddp.json"
    subprocess.run([sys.executable, str(script), str(single), "single"], check=True, env=env, timeout=120)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(script), str(ddp), "ddp"], check=True, env=env, timeout=180,
                   capture_output=True)
    a, b = json.loads(single.read_text()), json.loads(ddp.read_text())
    assert len(a["loss"]) == len(b["loss"]) == 25
    assert a["loss"][-1] < 0.2 * a["loss"][0]  # the run learns, so equal trajectories mean something
    # Each process really saw half of every global batch of 64 (so the equality below needs the
    # gradients averaged across processes, not just identical data).
    assert set(a["examples"]) == {64.0} and set(b["examples"]) == {32.0}
    for u, v in zip(a["loss"], b["loss"]):
        assert abs(u - v) <= 1e-5 * max(1.0, abs(u))
    for u, v in zip(a["weight"], b["weight"]):
        assert abs(u - v) <= 1e-5
