"""Recording chapter results with their provenance (for the scoreboard in ``book/``).

``record(chapter, metric, value, ...)`` writes ``results/<profile>/<chapter>.json`` next to the
repository's ``book/``, with the paper's reported value, the hardware, the date and the git sha, so a
number in the book can be traced to the run that made it. ``record_claim`` stores, under the key
``_claims``, a claim the chapter tests: the effect measured over seeds, its spread, whether the claim
held, and the paper's table or figure it comes from. ``record_run`` adds, under the key ``_run``, how
long the whole chapter took and how fast it trained (``python -m infobounds reproduce`` calls it).
This module imports no model.

How a results file is kept sound:

* Every write reads, changes and replaces the chapter's file while holding an exclusive
  ``fcntl.flock`` on its folder (an open directory descriptor, so no lock file is left in
  ``results/``): two processes recording at once never lose each other's entries. The new content
  goes to a temporary file that is fsynced, given mode 0644 and renamed over the old one, so a crash
  leaves the old file whole and no temporary file behind.
* The files are strict JSON (``allow_nan=False``). A value that is NaN or infinite is stored as
  ``"value": null`` with ``"nonfinite": "nan"`` (or ``"inf"``, ``"-inf"``), with a warning, and the
  scoreboard prints it as such.
* A file that is not valid JSON raises a ``ValueError`` naming it, in :func:`record` and in the
  scoreboard alike.
* The git sha of the provenance ignores changes under ``results/``: a run's own records do not mark
  the checkout ``-dirty``.
* A smoke run (``INFOBOUNDS_SMOKE=1``, :mod:`infobounds.profiles`) records nothing: its few training
  steps give no result, and ``results/`` must never hold one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import math
import numbers
import os
import platform
import re
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from infobounds.profiles import PROFILE_NAMES, smoke_enabled
from infobounds.validation import require_at_least, require_choice, require_finite, require_non_negative

RUN_KEY = "_run"  # the entry of record_run; never a metric
CLAIMS_KEY = "_claims"  # the entries of record_claim, by claim name; never a metric
FILE_MODE = 0o644  # results are read by everyone (mkstemp alone would leave 0600)


def repository_root() -> Path | None:
    """The repository holding this package (None when installed elsewhere)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "book").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    return None


def git_sha(root: Path | None = None) -> str:
    """The checkout's short sha, with ``-dirty`` when tracked files outside ``results/`` have
    uncommitted changes; where there is no git repository (a copy of the tree on another machine),
    ``$INFOBOUNDS_GIT_SHA`` or ``unknown``.

    Changes under ``results/`` do not count: they are what a run writes, so counting them would mark
    every record after a run's first as ``-dirty``.
    """
    fallback = os.environ.get("INFOBOUNDS_GIT_SHA", "unknown")
    root = root or repository_root()
    if root is None:
        return fallback
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        sha = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results"], cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip()
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


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------
def record(chapter: str, metric: str, value: float, *, profile: str, paper: float | None = None,
           unit: str = "", note: str = "") -> dict:
    """Store ``value`` of ``metric`` for ``chapter`` (merged into the chapter's JSON under a lock).

    ``chapter`` is the chapter's file stem, ``NN_slug`` (the scoreboard orders and links by it).
    A NaN or infinite ``value`` is stored as ``null`` with ``"nonfinite"`` saying which, and warned
    about; ``paper`` must be finite.
    """
    _check_chapter(chapter)
    _check_profile(profile)
    if not isinstance(metric, str) or not metric or metric.startswith("_"):
        raise ValueError(f"metric must be a non-empty name not starting with '_' (reserved for "
                         f"{RUN_KEY} and {CLAIMS_KEY}), got {metric!r}")
    value = _number("value", value)
    if paper is not None:
        paper = _number("paper", paper)
        require_finite(paper=paper)
    entry = {
        "metric": metric,
        **_stored_value(value, f"{chapter} {metric}"),
        "unit": unit,
        "paper": paper,
        **_provenance(profile),
        "note": note,
    }
    _merge(chapter, profile, lambda data: data.__setitem__(metric, entry))
    return entry


_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_PAPER_PLACE = re.compile(r"(?i)\b(table|tab\.|figure|fig\.|section|sec\.|appendix|eq\.|equation|theorem)|§")


def record_claim(chapter: str, name: str, statement: str, effect: float, sd: float, n_seeds: int,
                 holds: bool, *, profile: str, paper: float | None = None, source: str = "") -> dict:
    """Store a claim that ``chapter`` tests, under ``_claims`` in its JSON (a mapping name -> entry).

    Parameters
    ----------
    name : a snake_case identifier, unique in the chapter (``tc_factorvae_below_beta_vae``).
    statement : the claim in one sentence, as the reader should check it.
    effect : the measured effect, the mean over seeds of the quantity the claim is about (a
        difference of two methods' metric, for example); finite.
    sd : the standard deviation of that quantity over the seeds; finite and >= 0.
    n_seeds : how many seeds the mean and sd are over (an int >= 1).
    holds : whether the chapter's criterion for the claim was met (a bool, not a number).
    paper : the paper's value of the same effect, when it reports one; finite.
    source : where the paper shows it: a table, figure, section or equation ("Table 2", "Fig. 4b").
        Required when ``paper`` is given; when empty the claim is the book's own.

    The entry carries the same provenance as :func:`record` (hardware, torch, git sha, date).
    """
    _check_chapter(chapter)
    _check_profile(profile)
    if not isinstance(name, str) or not _SNAKE_CASE.fullmatch(name):
        raise ValueError(f"name must be a snake_case identifier such as 'tc_lower_than_beta_vae', got {name!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be a non-empty sentence, got {statement!r}")
    effect, sd = _number("effect", effect), _number("sd", sd)
    require_finite(effect=effect, sd=sd)
    require_non_negative(sd=sd)
    if not isinstance(n_seeds, numbers.Integral) or isinstance(n_seeds, bool):
        raise ValueError(f"n_seeds must be an int, got {n_seeds!r}")
    require_at_least(1, n_seeds=int(n_seeds))
    if not isinstance(holds, (bool, np.bool_)):
        raise ValueError(f"holds must be a bool, got {holds!r}")
    if paper is not None:
        paper = _number("paper", paper)
        require_finite(paper=paper)
    if not isinstance(source, str):
        raise ValueError(f"source must be a string naming the paper's table or figure, got {source!r}")
    if (paper is not None or source) and not _PAPER_PLACE.search(source):
        raise ValueError(f"source must name the paper's table or figure (such as 'Table 2' or 'Fig. 4b'), "
                         f"got {source!r}")
    entry = {
        "claim": name,
        "statement": statement.strip(),
        "effect": effect,
        "sd": sd,
        "n_seeds": int(n_seeds),
        "holds": bool(holds),
        "paper": paper,
        "source": source,
        **_provenance(profile),
    }
    _merge(chapter, profile, lambda data: data.setdefault(CLAIMS_KEY, {}).__setitem__(name, entry))
    return entry


def record_run(chapter: str, *, profile: str, wall_s: float, train_s: float, examples: int, fits: int,
               status: str = "ok") -> dict:
    """Store how a whole chapter run went: ``wall_s`` of execution, ``train_s`` seconds inside
    :func:`~infobounds.training.fit` over ``fits`` calls that drew ``examples`` examples (so
    ``examples_per_s`` is the training throughput), with the hardware, torch version and git sha."""
    _check_chapter(chapter)
    _check_profile(profile)
    wall_s, train_s = _number("wall_s", wall_s), _number("train_s", train_s)
    require_finite(wall_s=wall_s, train_s=train_s)
    entry = {
        "wall_s": round(wall_s, 2),
        "train_s": round(train_s, 2),
        "examples": int(examples),
        "examples_per_s": round(examples / train_s, 1) if train_s > 0 else None,
        "fits": int(fits),
        "status": status,
        **_provenance(profile),
    }
    _merge(chapter, profile, lambda data: data.__setitem__(RUN_KEY, entry))
    return entry


def _check_chapter(chapter: str) -> None:
    if not isinstance(chapter, str) or not re.fullmatch(r"\d\d_[a-z0-9_]+", chapter):
        raise ValueError(f"chapter must be a chapter's file stem such as '02_information_bottleneck', got {chapter!r}")


def _check_profile(profile: str) -> None:
    require_choice("profile", profile, PROFILE_NAMES)


def _number(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _encoded_value(value: float) -> dict:
    """``{"value": v}``, or ``{"value": None, "nonfinite": "nan" | "inf" | "-inf"}`` (strict JSON has
    no NaN or Infinity)."""
    if math.isfinite(value):
        return {"value": value}
    return {"value": None, "nonfinite": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _stored_value(value: float, what: str) -> dict:
    encoded = _encoded_value(value)
    if "nonfinite" in encoded:
        warnings.warn(f"results: {what} is {encoded['nonfinite']}; stored as null with "
                      f"nonfinite={encoded['nonfinite']!r}", RuntimeWarning, stacklevel=3)
    return encoded


def _provenance(profile: str) -> dict:
    return {"profile": profile, "hardware": hardware(), "torch": torch.__version__, "git_sha": git_sha(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")}


# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive flock on ``folder`` (released when its descriptor closes, also on a crash)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _merge(chapter: str, profile: str, update: Callable[[dict], object]) -> None:
    """Apply ``update`` to the chapter's results (a dict), under the folder's lock, and replace the
    file atomically: concurrent writers serialise, and a crash leaves the old file.

    In a smoke run (``INFOBOUNDS_SMOKE``) the entry is built and encoded as it would be, and written
    nowhere: a few training steps give no result."""
    if smoke_enabled():
        scratch: dict = {}
        update(scratch)
        json.dumps(scratch, allow_nan=False)
        return
    path = results_dir(profile) / f"{chapter}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.parent):
            data = read_results_file(path) if path.is_file() else {}
            for entry in data.values():  # a file written before values were encoded: NaN -> null
                if isinstance(entry.get("value"), float) and not math.isfinite(entry["value"]):
                    entry.update(_encoded_value(entry["value"]))
            update(data)
            try:
                text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
            except ValueError as err:
                raise ValueError(f"results file {path}: {err} (a NaN or infinity outside a value)") from None
            _write_atomically(path, text)
    except OSError as err:
        raise _naming(err, f"cannot write the results file {path}") from err


def _naming(err: OSError, what: str) -> OSError:
    """The same kind of OSError, with a message that names the file the caller meant (not a
    temporary file)."""
    reason = err.strerror or str(err)
    return type(err)(err.errno, f"{what}: {reason}") if err.errno is not None else type(err)(f"{what}: {reason}")


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
        dir_fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_results_file(path: str | Path) -> dict:
    """One chapter's results: a JSON object of entries. A file that is not valid JSON, or whose
    entries are not objects, raises a ``ValueError`` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"results file {path} is not valid JSON ({err}); repair it, or delete it "
                         f"and run its chapter again") from None
    if not isinstance(data, dict):
        raise ValueError(f"results file {path} must hold a JSON object of entries, got {type(data).__name__}")
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise ValueError(f"results file {path}: entry {key!r} must be a JSON object, got {entry!r}")
    return data


def _load_results(profile: str) -> dict[str, dict]:
    folder = results_dir(profile)
    if not folder.is_dir():
        return {}
    return {path.stem: read_results_file(path) for path in sorted(folder.glob("*.json"))}


# ---------------------------------------------------------------------------------------------
# The scoreboard
# ---------------------------------------------------------------------------------------------
def _number_text(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def _value_text(entry: dict) -> str:
    """The stored value, or what it was when it was not a finite number."""
    if entry.get("nonfinite"):
        return f"**{entry['nonfinite']}** (not a finite number)"
    value = entry.get("value")
    if value is None:
        return "no value"
    return f"{value:.4g}" if math.isfinite(value) else f"**{value}** (not a finite number)"


def _provenance_text(entry: dict) -> str:
    sha = entry.get("git_sha")
    return (f"{entry.get('hardware') or 'hardware not recorded'}, {entry.get('date') or 'date not recorded'}, "
            + (f"`{sha}`" if sha else "commit not recorded"))


def _table_text(text: str) -> str:
    """Text for a Markdown table cell: one line, its pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _cell(entry: dict | None, missing: str) -> str:
    if entry is None:
        return missing
    value = _table_text(f"{_value_text(entry)} {entry.get('unit', '')}".strip())
    note = _table_text(entry.get("note") or "")
    return value + f"<br><sub>{note + '; ' if note else ''}{_provenance_text(entry)}</sub>"


def _claim_cells(entry: dict | None, missing: str) -> tuple[str, str]:
    """(effect: mean ± sd (n), holds) of one profile's claim entry."""
    if entry is None:
        return missing, "—"
    effect = (f"{_number_text(entry.get('effect'))} ± {_number_text(entry.get('sd'))} "
              f"(n = {entry.get('n_seeds', '?')})<br><sub>{_provenance_text(entry)}</sub>")
    holds = entry.get("holds")
    return effect, ("yes" if holds is True else "**no**" if holds is False else "—")


CLAIMS_LABEL = "scoreboard-claims"  # the MyST label of the Claims section (book/intro.md links to it)
METRICS_LABEL = "scoreboard-metrics"  # the MyST label of the Metrics section


def load_results(profile: str) -> dict[str, dict]:
    """Every chapter's recorded results in ``profile`` (chapter stem -> its JSON object), from
    :func:`results_dir`; a malformed file raises a ``ValueError`` naming it."""
    _check_profile(profile)
    return _load_results(profile)


def _has_metrics(results: dict) -> bool:
    return any(not key.startswith("_") for data in results.values() for key in data)


def scoreboard_markdown() -> str:
    """The scoreboard page: per chapter (a section linking to it) and metric, what the metric
    measures, which direction is better and its chance level (``infobounds.metric_catalogue``),
    the paper's value where the chapter recorded one, and ours in each profile with its note and
    provenance (hardware, date, git sha); then the chapters' claims with the measured effect and
    whether each held; then the recorded chapter runs. The full-profile column appears once some
    full-profile result exists; until then one sentence says so. Nothing is filled in by hand."""
    from infobounds.metric_catalogue import describe

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
    with_full = _has_metrics(full)
    if not chapters:
        lines.append("No results have been recorded yet.")
    else:
        if not with_full:
            lines += ["No chapter has been run in the full profile yet, so the tables show the quick "
                      "profile only; a full-profile column appears once one has.", ""]
        lines += [f"({METRICS_LABEL})=", "## Metrics", "",
                  "For each metric: what it measures; which direction is better; the value a chance-level "
                  "or trivial model gets, where there is one; the paper's value, where the chapter "
                  "recorded one; and the value of each run, with the chapter's note (a reference value, "
                  "the setting) and the run's hardware, date and commit.", ""]
        header = "| metric | what it measures | better | chance | paper |"
        header += " full profile | quick profile |" if with_full else " quick profile |"
        for chapter in chapters:
            keys = set(quick.get(chapter, {})) | set(full.get(chapter, {}))
            metrics = sorted(k for k in keys if not k.startswith("_"))
            if not metrics:
                continue
            lines += [f"### {{doc}}`../chapters/{chapter}`", "", header,
                      "|---" * (header.count("|") - 1) + "|"]
            for metric in metrics:
                q, f = quick.get(chapter, {}).get(metric), full.get(chapter, {}).get(metric)
                paper = next((e["paper"] for e in (f, q) if e and e.get("paper") is not None), None)
                about = describe(chapter, metric)
                meaning, better, chance = ((about.meaning, about.better, about.chance or "—") if about
                                           else ("—", "—", "—"))
                row = (f"| {_table_text(metric)} | {_table_text(meaning)} | {_table_text(better)} | "
                       f"{_table_text(chance)} | {_number_text(paper)} |")
                if with_full:
                    row += f" {_cell(f, 'not yet run on a GPU')} |"
                lines.append(row + f" {_cell(q, 'not recorded')} |")
            lines.append("")
    lines += _claims_section(quick, full)
    lines += _runs_section(quick, full)
    return "\n".join(lines) + "\n"


def _claims_section(quick: dict, full: dict) -> list[str]:
    lines = ["", f"({CLAIMS_LABEL})=", "## Claims", ""]
    claims = {(chapter, name) for results in (quick, full) for chapter, data in results.items()
              for name in data.get(CLAIMS_KEY, {})}
    if not claims:
        lines.append("No chapter has recorded a claim (`infobounds.results.record_claim`) yet.")
        return lines
    lines += ["What each chapter's experiment is meant to show, as recorded by its "
              "`infobounds.results.record_claim` call: the measured effect (mean ± standard deviation "
              "over n seeds) and whether the chapter's criterion for the claim held, in each profile. "
              "The paper column gives the paper's table or figure the claim comes from, and the paper's "
              "value where it reports one.", "",
              "| chapter | claim | paper: table or figure | full profile: effect | full: holds "
              "| quick profile: effect | quick: holds |",
              "|---|---|---|---|---|---|---|"]
    for chapter, name in sorted(claims):
        q = quick.get(chapter, {}).get(CLAIMS_KEY, {}).get(name)
        f = full.get(chapter, {}).get(CLAIMS_KEY, {}).get(name)
        some = f or q
        source = some.get("source") or "—"
        paper = next((e["paper"] for e in (f, q) if e and e.get("paper") is not None), None)
        if paper is not None:
            source += f" (paper: {paper:.4g})"
        statement = " ".join(str(some.get("statement", "")).split()).replace("|", "\\|")
        f_effect, f_holds = _claim_cells(f, "not yet run on a GPU")
        q_effect, q_holds = _claim_cells(q, "not recorded")
        lines.append(f"| {chapter} | `{name}`: {statement} | {source} | {f_effect} | {f_holds} "
                     f"| {q_effect} | {q_holds} |")
    return lines


def _runs_section(quick: dict, full: dict) -> list[str]:
    runs = [(chapter, data[RUN_KEY]) for results in (full, quick) for chapter, data in results.items()
            if RUN_KEY in data]
    lines = ["", "## Runs", ""]
    if not runs:
        lines.append("No chapter has been run through `python -m infobounds reproduce` yet, so no chapter's "
                     "wall time or training throughput has been recorded.")
        return lines
    lines += ["Whole-chapter runs by `python -m infobounds reproduce`: wall time of the chapter and "
              "examples per second inside its training loops.", "",
              "| chapter | profile | status | wall (s) | training (s) | examples/s | hardware, date, commit |",
              "|---|---|---|---:|---:|---:|---|"]
    for chapter, run in runs:
        def seconds(key: str) -> str:
            return "—" if run.get(key) is None else f"{run[key]:.0f}"

        rate = "—" if run.get("examples_per_s") is None else f"{run['examples_per_s']:.4g}"
        lines.append(f"| {chapter} | {run.get('profile', '?')} | {run.get('status', '?')} | {seconds('wall_s')} | "
                     f"{seconds('train_s')} | {rate} | {_provenance_text(run)} |")
    return lines


def write_scoreboard(path: str | Path | None = None) -> Path:
    """Write :func:`scoreboard_markdown` to ``path`` (default: the repository's book/scoreboard.md).

    A folder that cannot be written raises an ``OSError`` whose message names ``path``; a malformed
    results file raises a ``ValueError`` naming that file (before anything is written)."""
    if path is None:
        root = repository_root()
        if root is None:
            raise FileNotFoundError("not inside the infobounds repository: pass a path for the scoreboard")
        path = root / "book" / "scoreboard.md"
    path = Path(path)
    text = scoreboard_markdown()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, text)
    except OSError as err:
        raise _naming(err, f"cannot write the scoreboard to {path}") from err
    return path
