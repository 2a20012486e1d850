"""Recording chapter results with their provenance (for the scoreboard in ``book/``).

``record(chapter, metric, value, ...)`` writes ``results/<profile>/<chapter>.json`` next to the
repository's ``book/``, with the paper's reported value, the hardware, the date and the git sha, so a
number in the book can be traced to the run that made it. ``record_run`` adds, under the key
``_run``, how long the whole chapter took and how fast it trained (``python -m infobounds
reproduce`` calls it). This module imports no model.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path

import torch


def repository_root() -> Path | None:
    """The repository holding this package (None when installed elsewhere)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "book").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    return None


def git_sha(root: Path | None = None) -> str:
    """The checkout's short sha (``-dirty`` with uncommitted changes); where there is no git
    repository (a copy of the tree on another machine), ``$INFOBOUNDS_GIT_SHA`` or ``unknown``."""
    fallback = os.environ.get("INFOBOUNDS_GIT_SHA", "unknown")
    root = root or repository_root()
    if root is None:
        return fallback
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        sha = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else fallback
    except (OSError, subprocess.SubprocessError):
        return fallback


def hardware() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def results_dir(profile: str) -> Path:
    base = os.environ.get("INFOBOUNDS_RESULTS")
    if base:
        return Path(base) / profile
    root = repository_root()
    return (root / "results" / profile) if root else Path("results") / profile


def record(chapter: str, metric: str, value: float, *, profile: str, paper: float | None = None,
           unit: str = "", note: str = "") -> dict:
    """Store ``value`` of ``metric`` for ``chapter`` (atomically merged into the chapter's JSON).

    ``chapter`` is the chapter's file stem, ``NN_slug`` (the scoreboard orders and links by it).
    """
    _check_chapter(chapter)
    entry = {
        "metric": metric,
        "value": float(value),
        "unit": unit,
        "paper": None if paper is None else float(paper),
        **_provenance(profile),
        "note": note,
    }
    _merge(chapter, profile, metric, entry)
    return entry


RUN_KEY = "_run"  # the entry of record_run; never a metric


def record_run(chapter: str, *, profile: str, wall_s: float, train_s: float, examples: int, fits: int,
               status: str = "ok") -> dict:
    """Store how a whole chapter run went: ``wall_s`` of execution, ``train_s`` seconds inside
    :func:`~infobounds.training.fit` over ``fits`` calls that drew ``examples`` examples (so
    ``examples_per_s`` is the training throughput), with the hardware, torch version and git sha."""
    _check_chapter(chapter)
    entry = {
        "wall_s": round(float(wall_s), 2),
        "train_s": round(float(train_s), 2),
        "examples": int(examples),
        "examples_per_s": round(examples / train_s, 1) if train_s > 0 else None,
        "fits": int(fits),
        "status": status,
        **_provenance(profile),
    }
    _merge(chapter, profile, RUN_KEY, entry)
    return entry


def _check_chapter(chapter: str) -> None:
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", chapter):
        raise ValueError(f"chapter must be a chapter's file stem such as '02_information_bottleneck', got {chapter!r}")


def _provenance(profile: str) -> dict:
    return {"profile": profile, "hardware": hardware(), "torch": torch.__version__, "git_sha": git_sha(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")}


def _merge(chapter: str, profile: str, key: str, entry: dict) -> None:
    """Set ``key`` of the chapter's JSON to ``entry``, atomically (a crash leaves the old file)."""
    path = results_dir(profile) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = entry
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _load_results(profile: str) -> dict[str, dict]:
    folder = results_dir(profile)
    if not folder.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def _cell(entry: dict | None, missing: str) -> str:
    if entry is None:
        return missing
    return (f"{entry['value']:.4g} {entry.get('unit', '')}".strip()
            + f"<br><sub>{entry['hardware']}, {entry['date']}, `{entry['git_sha']}`</sub>")


def scoreboard_markdown() -> str:
    """The scoreboard page: per chapter and metric, the paper's figure, ours in the full profile
    (with hardware, date and git sha) and ours in the quick profile. A full-profile figure that was
    never produced says so; nothing is filled in by hand."""
    quick, full = _load_results("quick"), _load_results("full")
    lines = [
        "# Scoreboard",
        "",
        "Every number below was written by a chapter's `infobounds.results.record` call during a run,",
        "with the hardware, date and git commit of that run (`python -m infobounds scoreboard`",
        "regenerates this page from `results/`). The quick profile is the laptop-sized setting the",
        "book is built with; the full profile is the paper's setting on one GPU, run with",
        "`python -m infobounds reproduce CHAPTER`. Quick-profile numbers are not comparable with the",
        "papers' figures; they show that the phenomenon appears at small scale.",
        "",
    ]
    chapters = sorted(set(quick) | set(full))
    if not chapters:
        lines.append("No results have been recorded yet.")
        return "\n".join(lines) + "\n"
    lines += ["| chapter | metric | paper | full profile | quick profile |", "|---|---|---|---|---|"]
    for chapter in chapters:
        metrics = sorted((set(quick.get(chapter, {})) | set(full.get(chapter, {}))) - {RUN_KEY})
        for metric in metrics:
            q, f = quick.get(chapter, {}).get(metric), full.get(chapter, {}).get(metric)
            paper = next((e["paper"] for e in (f, q) if e and e.get("paper") is not None), None)
            lines.append(
                f"| {chapter} | {metric} | {'—' if paper is None else f'{paper:.4g}'} | "
                f"{_cell(f, 'not yet run on a GPU')} | {_cell(q, 'not recorded')} |"
            )
    runs = [(chapter, data[RUN_KEY]) for results in (full, quick) for chapter, data in results.items()
            if RUN_KEY in data]
    lines += ["", "## Runs", ""]
    if not runs:
        lines.append("No chapter has been run through `python -m infobounds reproduce` yet, so no chapter's "
                     "wall time or training throughput has been recorded.")
    else:
        lines += ["Whole-chapter runs by `python -m infobounds reproduce`: wall time of the chapter and "
                  "examples per second inside its training loops.", "",
                  "| chapter | profile | status | wall (s) | training (s) | examples/s | hardware, date, commit |",
                  "|---|---|---|---:|---:|---:|---|"]
        for chapter, run in runs:
            rate = "—" if run.get("examples_per_s") is None else f"{run['examples_per_s']:.4g}"
            lines.append(f"| {chapter} | {run['profile']} | {run['status']} | {run['wall_s']:.0f} | "
                         f"{run['train_s']:.0f} | {rate} | {run['hardware']}, {run['date']}, `{run['git_sha']}` |")
    return "\n".join(lines) + "\n"


def write_scoreboard(path: str | Path | None = None) -> Path:
    """Write :func:`scoreboard_markdown` to ``path`` (default: the repository's book/scoreboard.md)."""
    if path is None:
        root = repository_root()
        if root is None:
            raise FileNotFoundError("not inside the infobounds repository: pass a path for the scoreboard")
        path = root / "book" / "scoreboard.md"
    path = Path(path)
    path.write_text(scoreboard_markdown())
    return path
