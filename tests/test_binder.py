"""Binder builds the book's environment in repo2docker's order (repo2docker issue #1265).

repo2docker installs ``environment.yml`` from a folder that holds that file alone, before it copies the
repository into the image, and runs ``postBuild`` in the copied repository afterwards. Here the same
order runs offline: environment.yml's pip section in an empty folder, into a fresh venv that holds the
pinned distributions (linked from the book's environment, see ``isolated_env``), then postBuild in a
copy of the repository, then one chapter. conda's own part (``python=3.11``, ``pip``) is this
interpreter and this environment's pip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from isolated_env import CHAPTER, ROOT, clean_env, closure, copy_worktree, execute_chapter, link_environment, run, \
    shadowing_entries


def pip_section(environment_yml: Path) -> list[str]:
    env = yaml.safe_load(environment_yml.read_text())
    return next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]


def binder_build(tmp: Path, repository: Path) -> Path:
    """Build Binder's environment from ``repository``'s environment.yml and postBuild in repo2docker's
    order; return the environment's python. Fails with pip's or postBuild's output."""
    requirements = [line for line in pip_section(repository / "environment.yml") if not line.startswith("-")]
    # The fresh environment holds what the pins name (pip's own resolver then checks them), and pip.
    python = link_environment(tmp / "env", closure(requirements + ["pip"]))
    bare = tmp / "build"  # the folder repo2docker builds the environment in: environment.yml alone
    bare.mkdir()
    shutil.copy(repository / "environment.yml", bare)
    # conda writes the pip section to a requirements file beside environment.yml and runs pip there.
    (bare / "condaenv.requirements.txt").write_text("\n".join(pip_section(bare / "environment.yml")) + "\n")
    env = clean_env(PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(tmp / "env"))
    run([str(python), "-m", "pip", "install", "-U", "-r", "condaenv.requirements.txt"], cwd=bare, env=env)
    image = copy_worktree(tmp / "image", repository)  # then the repository is copied in; postBuild runs there
    run([str(image / "postBuild")], cwd=image, env=env)
    return python


@pytest.fixture(scope="module")
def binder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("binder")
    return binder_build(tmp, ROOT), tmp


def test_binder_environment_builds_and_runs_a_chapter(binder, tmp_path):
    python, tmp = binder
    image = tmp / "image"
    report = execute_chapter(python, image / "chapters" / f"{CHAPTER}.md", cwd=tmp,
                             env=clean_env(INFOBOUNDS_RESULTS=str(tmp_path / "results")))
    assert Path(report["executable"]) == python
    # postBuild's editable install: the package of the image's copy, nothing from this checkout.
    assert Path(report["file"]).resolve() == (image / "src" / "infobounds" / "__init__.py").resolve()
    assert shadowing_entries(report, allowed=image / "src") == []


ENABLED_EXTENSIONS = """\
import importlib, json, sys
from pathlib import Path
enabled = {}
for config in sorted((Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d").glob("*.json")):
    enabled.update(json.loads(config.read_text()).get("ServerApp", {}).get("jpserver_extensions", {}))
loadable = [name for name, on in enabled.items() if on and any(
    hasattr(importlib.import_module(name), hook)
    for hook in ("_jupyter_server_extension_points", "load_jupyter_server_extension"))]
print(json.dumps(loadable))
"""


def test_jupytext_server_extension_is_enabled(binder):
    """Jupyter opens the MyST-Markdown chapters as notebooks: the environment enables a jupytext server
    extension, and that name is a module with a server-extension hook."""
    python, tmp = binder
    out = run([str(python), "-c", ENABLED_EXTENSIONS], cwd=tmp, env=clean_env()).stdout
    assert any("jupytext" in name for name in yaml.safe_load(out))
