"""Fresh Python environments outside the checkout, built offline, for the packaging and Binder tests.

Installing the book's dependencies into a fresh venv takes a network (about half of constraints.txt's
pinned versions are on no local disk) and ~1.4 GB, and tests never download. So a fresh environment
here is a new venv, outside the checkout, whose site-packages holds links to exactly the distributions
a requirement list needs (its closure, resolved through the installed metadata) taken from the
environment running the tests, the one scripts/setup.sh installed with constraints.txt. The package
itself is never linked: each test installs it (a built wheel, or ``pip install -e .`` from postBuild).

What this proves: the wheel (or the Binder build) holds everything the package imports, its
declared dependencies are enough to import it and run a chapter (nothing else is on the path), and
pip accepts the pins. What it does not: that pip can download those pins from an index.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# The smallest chapter in wall time (README's table: 24 s on an idle 2-core machine).
CHAPTER = "04_transfer_entropy_bottleneck"
SITE = Path(sysconfig.get_paths()["purelib"])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no PYTHONPATH, no pip settings of this machine (its
    config names local wheel folders and indexes), no downloads, the quick profile; of the
    package's settings only where the data lie (``INFOBOUNDS_DATA``) is kept."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "INFOBOUNDS_", "JUPYTER_")) or k == "INFOBOUNDS_DATA"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", INFOBOUNDS_OFFLINE="1", INFOBOUNDS_PROFILE="quick",
               OMP_WAIT_POLICY="PASSIVE")
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``cmd``; on failure, fail with its output (the last 4000 characters of each stream)."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited with {result.returncode} in {cwd}\n"
                             f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")
    return result


def copy_worktree(dest: Path, root: Path = ROOT) -> Path:
    """What a clone of the repository at ``root`` holds (tracked and untracked files git does not
    ignore), copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = root / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def closure(requirements: list[str], extras: set[str] = frozenset()) -> dict[str, md.Distribution]:
    """The installed distributions that ``requirements`` need, transitively, under their markers
    (evaluated for this interpreter, with ``extras`` for the root requirements)."""
    installed = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
    found: dict[str, md.Distribution] = {}
    done: set[tuple[str, frozenset]] = set()
    todo = [(Requirement(r), frozenset(extras)) for r in requirements]
    while todo:
        req, req_extras = todo.pop()
        if req.marker is not None and not any(
                req.marker.evaluate({**default_environment(), "extra": e}) for e in (req_extras or {""})):
            continue
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) in done:
            continue
        done.add((name, frozenset(req.extras)))
        if name not in installed:
            raise AssertionError(f"{req} is needed but not installed in {sys.prefix}: run scripts/setup.sh")
        found[name] = installed[name]
        todo += [(Requirement(r), frozenset(req.extras)) for r in installed[name].requires or []]
    return found


def link_environment(venv: Path, dists: dict[str, md.Distribution]) -> Path:
    """A new venv at ``venv`` (outside the checkout) whose site-packages links ``dists``' files from
    this environment; returns its python. Files a distribution puts outside site-packages (Jupyter's
    ``etc/`` and ``share/`` configuration) are linked to the same place under the venv; its scripts
    are not (their first line names this environment's python)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for dist in dists.values():
        for file in dist.files or []:
            parts = Path(file).parts
            if parts[0] == "..":
                source = (SITE / file).resolve()
                relative = source.relative_to(Path(sys.prefix).resolve()) if source.is_relative_to(
                    Path(sys.prefix).resolve()) else None
                if relative is None or relative.parts[0] not in ("etc", "share") or not source.is_file():
                    continue
                target = venv / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.symlink_to(source)
                continue
            top = parts[0]
            if top == "__pycache__" or (site / top).exists() or not (SITE / top).exists():
                continue
            (site / top).symlink_to(SITE / top)
    return python


CHECK_CELL = """\
import json, sys
import infobounds
print("INFOBOUNDS_CHECK " + json.dumps({"file": infobounds.__file__, "executable": sys.executable,
                                       "path": sys.path, "version": infobounds.__version__}))
"""

DRIVER = textwrap.dedent("""\
    import json, sys
    import jupytext, nbformat
    from nbclient import NotebookClient
    chapter, check = sys.argv[1], sys.argv[2]
    nb = jupytext.read(chapter)
    nb.cells.insert(0, nbformat.v4.new_code_cell(check))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(__import__("pathlib").Path(chapter).parent)}}).execute()
    lines = [o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream"]
    print("".join(lines))
""")


def execute_chapter(python: Path, chapter: Path, cwd: Path, env: dict[str, str]) -> dict:
    """Execute ``chapter`` with nbclient in a kernel of ``python`` (every cell must run without an
    error: the chapter's own asserts) and return what its kernel reported of ``infobounds``: the
    file it imported, ``sys.executable``, ``sys.path`` and the version. The kernel starts in the
    chapter's folder, as in the book build."""
    out = run([str(python), "-c", DRIVER, str(chapter), CHECK_CELL], cwd=cwd, env=env).stdout
    line = next(l for l in out.splitlines() if l.startswith("INFOBOUNDS_CHECK "))
    report = json.loads(line.removeprefix("INFOBOUNDS_CHECK "))
    report["cwd"] = str(chapter.parent)
    return report


def shadowing_entries(report: dict, allowed: Path) -> list[str]:
    """The kernel's ``sys.path`` entries, other than ``allowed``, that hold an ``infobounds`` package
    (the empty entry is the kernel's working folder)."""
    entries = []
    for entry in report["path"]:
        folder = Path(entry or report["cwd"]).resolve()
        if folder != allowed.resolve() and (folder / "infobounds").exists():
            entries.append(str(folder))
    return entries
