"""Our in-memory batch iterator against torch's DataLoader over a TensorDataset, side by side.

Both produce the same batches (shuffled each epoch, batch 128, last incomplete batch dropped) of
Fashion-MNIST-sized data held in memory. Rounds alternate A B A B in one process on one thread
(a busy neighbour distorts 2-thread timings; see the toolchain notes), and the ratio of batches per
second is reported as a median with its spread. Writes results/bench/data_iterator.json.

Usage: python benchmarks/data_iterator.py [--rounds 7] [--batches 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from infobounds.data import BatchStream  # noqa: E402
from infobounds.results import git_sha, repository_root  # noqa: E402


def time_ours(x, y, batches: int, batch_size: int) -> float:
    stream = BatchStream(x, y, batch_size=batch_size, seed=0)
    start = time.perf_counter()
    for _ in range(batches):
        xb, yb = next(stream)
    return batches / (time.perf_counter() - start)


def time_dataloader(x, y, batches: int, batch_size: int) -> float:
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    done = 0
    start = time.perf_counter()
    while done < batches:
        for xb, yb in loader:
            done += 1
            if done == batches:
                break
    return batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.rand(60_000, 784)
    y = torch.randint(0, 10, (60_000,))
    ours, ref = [], []
    for _ in range(args.rounds):  # A B A B ...
        ours.append(time_ours(x, y, args.batches, args.batch_size))
        ref.append(time_dataloader(x, y, args.batches, args.batch_size))
    ratios = [a / b for a, b in zip(ours, ref)]
    result = {
        "benchmark": "data_iterator",
        "ours_batches_per_s_median": statistics.median(ours),
        "dataloader_batches_per_s_median": statistics.median(ref),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "rounds": args.rounds,
        "batches_per_round": args.batches,
        "batch_size": args.batch_size,
        "threads": 1,
        "hardware": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "git_sha": git_sha(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(f"{'iterator':>12s} {'batches/s (median)':>20s}")
    print(f"{'BatchStream':>12s} {result['ours_batches_per_s_median']:20.0f}")
    print(f"{'DataLoader':>12s} {result['dataloader_batches_per_s_median']:20.0f}")
    print(f"ratio ours/DataLoader: median {result['ratio_median']:.2f} "
          f"(min {result['ratio_min']:.2f}, max {result['ratio_max']:.2f}) over {args.rounds} rounds")
    out = (repository_root() or Path(".")) / "results" / "bench" / "data_iterator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
