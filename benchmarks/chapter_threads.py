"""Threads for the quick profile's small networks: how a training step's time depends on the thread
count, OpenMP's wait policy and a second process on the same cores.

Three networks of the sizes the quick chapters train (an MLP on 784 inputs, batch 128; a small MLP
on 10 inputs, batch 256; a two-layer conv net on 28x28 images, batch 64) take Adam steps in a child
process for each setting below; the reference is one thread, one process. Settings:

* ``1 thread`` and ``2 threads`` (torch's default on two cores), OpenMP's default wait policy;
* ``2 threads, PASSIVE``: ``OMP_WAIT_POLICY=PASSIVE``, which the chapters used to set (idle OpenMP
  threads sleep instead of spinning, so every parallel region wakes them through the kernel);
* ``two processes x 1 thread`` and ``two processes x 2 threads``: two copies at once, as when the
  test and book commands run two chapters at a time.

It prints the milliseconds per step and the ratio to the reference, and writes
``results/bench/chapter_threads.json`` with hardware, torch version and git sha. The settings are
interleaved over ``--rounds`` rounds so that a slow spell of a shared machine hits them all.

Usage: python benchmarks/chapter_threads.py [--rounds 3] [--steps 60] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = {  # name: (processes, OMP_NUM_THREADS, OMP_WAIT_POLICY or None for OpenMP's default)
    "1 thread": (1, 1, None),
    "2 threads": (1, 2, None),
    "2 threads, PASSIVE": (1, 2, "PASSIVE"),
    "two processes x 1 thread": (2, 1, None),
    "two processes x 2 threads": (2, 2, None),
}
REFERENCE = "1 thread"

CHILD = r"""
import json, sys, time, torch
from torch import nn
steps = int(sys.argv[1])
torch.manual_seed(0)
cases = {
    "mlp 784-256-256-10, batch 128": (nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                                    nn.Linear(256, 10)), torch.randn(128, 784)),
    "mlp 10-64-64-2, batch 256": (nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                                nn.Linear(64, 2)), torch.randn(256, 10)),
    "conv 28x28, batch 64": (nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                           nn.Flatten(), nn.Linear(64 * 7 * 7, 10)), torch.randn(64, 1, 28, 28)),
}
out = {}
for name, (model, x) in cases.items():
    opt = torch.optim.Adam(model.parameters())
    def step():
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    out[name] = 1000 * (time.perf_counter() - start) / steps
print(json.dumps(out))
"""


def run_setting(processes: int, threads: int, policy: str | None, steps: int) -> dict[str, float]:
    """Milliseconds per step of each network (the mean over the processes run at once)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["OMP_NUM_THREADS"] = str(threads)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(steps)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    outputs = [json.loads(p.communicate()[0]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a child failed: {[p.returncode for p in procs]}")
    return {k: statistics.mean(o[k] for o in outputs) for k in outputs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.rounds < 1 or args.steps < 1:
        raise SystemExit(f"--rounds and --steps must be positive, got {args.rounds} and {args.steps}")
    times: dict[str, list[dict[str, float]]] = {name: [] for name in SETTINGS}
    for r in range(args.rounds):
        for name, setting in SETTINGS.items():
            times[name].append(run_setting(*setting, args.steps))
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    networks = list(times[REFERENCE][0])
    median = {name: {n: statistics.median(t[n] for t in rounds) for n in networks} for name, rounds in times.items()}
    print(f"\n| setting | {' | '.join(networks)} |\n|---|{'---:|' * len(networks)}")
    for name in SETTINGS:
        cells = [f"{median[name][n]:.2f} ms ({median[name][n] / median[REFERENCE][n]:.2f})" for n in networks]
        print(f"| {name} | {' | '.join(cells)} |")
    import torch

    from infobounds.results import git_sha, repository_root

    root = repository_root() or Path(__file__).resolve().parents[1]
    result = {
        "benchmark": "chapter_threads",
        "unit": "milliseconds per Adam step (median over rounds; with two processes, their mean)",
        "reference": REFERENCE,
        "ms_per_step": median,
        "ratio_to_reference": {name: {n: round(median[name][n] / median[REFERENCE][n], 3) for n in networks}
                               for name in SETTINGS},
        "rounds": {name: rounds for name, rounds in times.items()},
        "steps": args.steps,
        "cpu_count": os.cpu_count(),
        "hardware": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "git_sha": git_sha(),
        "date": time.strftime("%Y-%m-%d"),
    }
    out = args.out or root / "results" / "bench" / "chapter_threads.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
