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
    """Store ``value`` of ``metric`` for ``chapter`` (atomically merged into the chapter's JSON)."""
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
