"""Recording chapter results with their provenance (for the scoreboard in ``book/``).

``record(chapter, metric, value, ...)`` writes ``results/<profile>/<chapter>.json`` next to the
repository's ``book/``, with the paper's reported value, the hardware, the date and the git sha, so a
number in the book can be traced to the run that made it. This module imports no model.
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
    root = root or repository_root()
    if root is None:
        return "unknown"
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        sha = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


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
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", chapter):
        raise ValueError(f"chapter must be a chapter's file stem such as '02_information_bottleneck', got {chapter!r}")
    entry = {
        "metric": metric,
        "value": float(value),
        "unit": unit,
        "paper": None if paper is None else float(paper),
        "profile": profile,
        "hardware": hardware(),
        "torch": torch.__version__,
        "git_sha": git_sha(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "note": note,
    }
    path = results_dir(profile) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[metric] = entry
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return entry


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
        metrics = sorted(set(quick.get(chapter, {})) | set(full.get(chapter, {})))
        for metric in metrics:
            q, f = quick.get(chapter, {}).get(metric), full.get(chapter, {}).get(metric)
            paper = next((e["paper"] for e in (f, q) if e and e.get("paper") is not None), None)
            lines.append(
                f"| {chapter} | {metric} | {'—' if paper is None else f'{paper:.4g}'} | "
                f"{_cell(f, 'not yet run on a GPU')} | {_cell(q, 'not recorded')} |"
            )
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
