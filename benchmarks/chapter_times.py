"""Wall time, CPU time and peak memory of every chapter in the quick profile.

Each chapter (``chapters/NN_*.md``) runs in its own subprocess exactly as the test suite runs it,
``pytest chapters/NN_slug.md --nbval-lax --nbval-current-env`` (nbval executes the MyST notebook in a
fresh Jupyter kernel, so its assert cells count), one chapter at a time, with
``INFOBOUNDS_PROFILE=quick`` and ``INFOBOUNDS_RESULTS`` pointed at a temporary folder so nothing is
written into the repository. Threads: torch's default (what a reader running one chapter gets), or
``--threads N`` (``OMP_NUM_THREADS=N``); OpenMP's wait policy is left at its default (with
``OMP_WAIT_POLICY=PASSIVE`` two threads took twice as long as one on small networks,
``results/bench/chapter_threads.json``). Per chapter it records

* ``wall_s``: wall-clock seconds of the subprocess;
* ``cpu_s``: user + system CPU seconds of the subprocess and the kernel it started (``os.wait4``
  accounts for every descendant that was waited for; the kernel is). On a shared machine wall time
  is inflated by the neighbours, CPU time much less: judge the budget by both;
* ``peak_rss_mb``: the largest resident set of any one process of the run (``ru_maxrss``; the
  kernel's, in practice), and ``peak_tree_rss_mb``: the largest sum over the whole process tree,
  sampled every 0.2 s (needs ``psutil``; null without it).

It prints a Markdown table (pasteable into the README), flags every chapter over 180 s wall or
3 GB, compares the total with the 30-minute budget of the quick book, and writes
``results/bench/chapter_times.json`` (with hardware, torch version and git sha).

Usage: python benchmarks/chapter_times.py [--chapters 01 02] [--threads N] [--timeout 900] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch  # noqa: E402

from infobounds.results import git_sha, repository_root  # noqa: E402

LIMIT_S = 180.0  # per chapter, quick profile, 2 CPU cores (the developers guide's budget)
LIMIT_MB = 3 * 1024.0  # per chapter
BOOK_LIMIT_S = 30 * 60.0  # the whole quick book (the developers guide's budget)


def chapter_files(root: Path, wanted: list[str] | None) -> list[Path]:
    files = sorted(p for p in (root / "chapters").glob("[0-9][0-9]_*.md"))
    if wanted:
        keys = {w.zfill(2) if w.isdigit() else w for w in wanted}
        files = [p for p in files if p.name[:2] in keys or p.stem in keys or p.name in keys]
        missing = keys - {p.name[:2] for p in files} - {p.stem for p in files} - {p.name for p in files}
        if missing:
            raise SystemExit(f"no chapter matches {sorted(missing)}")
    return files


def _tree_rss_sampler(pid: int, peak: list[float], stop: threading.Event) -> None:
    try:
        import psutil
    except ImportError:
        peak[0] = float("nan")
        return
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            procs = [root, *root.children(recursive=True)]
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
        except psutil.Error:
            break
        stop.wait(0.2)


def run_chapter(path: Path, root: Path, results_dir: str, timeout: float, threads: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(INFOBOUNDS_PROFILE="quick", INFOBOUNDS_OFFLINE="1", INFOBOUNDS_RESULTS=results_dir,
               INFOBOUNDS_PROGRESS="0", **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    cmd = [sys.executable, "-m", "pytest", str(path.relative_to(root)), "--nbval-lax", "--nbval-current-env",
           "-p", "no:cacheprovider", "-q", f"--nbval-cell-timeout={int(timeout)}"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_tree = [0.0]
    stop = threading.Event()
    sampler = threading.Thread(target=_tree_rss_sampler, args=(proc.pid, peak_tree, stop), daemon=True)
    sampler.start()
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = start + timeout
    status, usage = 0, None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            status = -9
            break
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status) if status != -9 else -9
    wall = time.perf_counter() - start
    stop.set()
    sampler.join(1)
    reader.join(1)
    tail = "".join(output).strip().splitlines()[-1:] or [""]
    return {
        "chapter": path.stem,
        "passed": proc.returncode == 0,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 0),  # ru_maxrss is in KiB on Linux
        "peak_tree_rss_mb": None if peak_tree[0] != peak_tree[0] else round(peak_tree[0], 0),
        "pytest": tail[0],
    }


def flags(row: dict) -> str:
    out = []
    if row["wall_s"] > LIMIT_S:
        out.append(f"> {LIMIT_S:.0f} s")
    memory = max(row["peak_rss_mb"], row["peak_tree_rss_mb"] or 0.0)
    if memory > LIMIT_MB:
        out.append("> 3 GB")
    if not row["passed"]:
        out.append("FAILED")
    return ", ".join(out)


def table(rows: list[dict]) -> str:
    lines = ["| chapter | wall (s) | CPU user+sys (s) | peak RSS (MB) | flag |",
             "|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['chapter']} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['peak_rss_mb']:.0f} | "
                     f"{flags(r)} |")
    wall = sum(r["wall_s"] for r in rows)
    cpu = sum(r["cpu_s"] for r in rows)
    lines.append(f"| **total** | {wall:.0f} | {cpu:.0f} | {max(r['peak_rss_mb'] for r in rows):.0f} | "
                 f"{f'> {BOOK_LIMIT_S / 60:.0f} min' if wall > BOOK_LIMIT_S else ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", help="chapter numbers or stems (default: every chapter)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a chapter is killed")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of each chapter (default: torch's default)")
    parser.add_argument("--out", type=Path, help="JSON path (default results/bench/chapter_times.json)")
    args = parser.parse_args()
    root = repository_root() or Path(__file__).resolve().parents[1]
    files = chapter_files(root, args.chapters)
    rows = []
    with tempfile.TemporaryDirectory(prefix="chapter_times_") as results_dir:
        for path in files:
            print(f"running {path.name} ...", flush=True)
            row = run_chapter(path, root, results_dir, args.timeout, args.threads)
            rows.append(row)
            print(f"  {row['wall_s']:.0f} s wall, {row['cpu_s']:.0f} s CPU, {row['peak_rss_mb']:.0f} MB, "
                  f"{row['pytest']}", flush=True)
    print()
    print(table(rows))
    total = sum(r["wall_s"] for r in rows)
    flagged = [r["chapter"] for r in rows if flags(r)]
    print(f"\ntotal {total / 60:.1f} min wall (budget {BOOK_LIMIT_S / 60:.0f} min for the whole quick book); "
          f"flagged: {', '.join(flagged) or 'none'}")
    result = {
        "benchmark": "chapter_times",
        "profile": "quick",
        "chapters": rows,
        "total_wall_s": round(total, 1),
        "total_cpu_s": round(sum(r["cpu_s"] for r in rows), 1),
        "limits": {"chapter_s": LIMIT_S, "chapter_mb": LIMIT_MB, "book_s": BOOK_LIMIT_S},
        "flagged": flagged,
        "all_chapters": not args.chapters,
        "cpu_count": os.cpu_count(),
        "threads": args.threads or f"torch default ({torch.get_num_threads()})",
        "load_average_at_end": os.getloadavg(),
        "hardware": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "git_sha": git_sha(),
        "date": time.strftime("%Y-%m-%d"),
    }
    out = args.out or root / "results" / "bench" / "chapter_times.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
