"""The package as a library: ranges in pyproject.toml, the book's pins in constraints.txt used by every
install path, one version everywhere, and a wheel that works outside the checkout."""

from __future__ import annotations

import re
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import infobounds
from isolated_env import (CHAPTER, ROOT, clean_env, closure, copy_worktree, execute_chapter, link_environment, run,
                          shadowing_entries)


def pins(lines: list[str], where: str) -> dict[str, Version]:
    """``name==version`` lines (comments, blank lines and pip options skipped) as {name: version};
    anything else is an error naming ``where``."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        if len(spec) != 1 or spec[0].operator != "==":
            raise AssertionError(f"{where}: {line!r} is not pinned with ==")
        found[canonicalize_name(req.name)] = Version(spec[0].version)
    return found


def constraints(root: Path = ROOT) -> dict[str, Version]:
    return pins((root / "constraints.txt").read_text().splitlines(), "constraints.txt")


def binder_pip_section(root: Path = ROOT) -> list[str]:
    env = yaml.safe_load((root / "environment.yml").read_text())
    return next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]


def project(root: Path = ROOT) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]


def public(version: Version) -> Version:
    return Version(version.public)


def agreement_problems(root: Path = ROOT) -> list[str]:
    """Every way in which pyproject.toml, constraints.txt, environment.yml, scripts/setup.sh and the
    CI workflows disagree (empty when they agree)."""
    problems = []
    locked = constraints(root)
    section = binder_pip_section(root)
    binder = pins(section, "environment.yml")
    # environment.yml: the same pins, torch as the CPU build, nothing from the source tree.
    if {k: public(v) for k, v in binder.items()} != {k: public(v) for k, v in locked.items()}:
        differ = sorted(set(binder.items()) ^ set(locked.items()))
        problems.append(f"environment.yml's pins differ from constraints.txt's: {differ[:6]}")
    if binder.get("torch") is None or binder["torch"].local != "cpu":
        problems.append(f"environment.yml must pin torch's CPU build (+cpu), got {binder.get('torch')}")
    if not any("download.pytorch.org/whl/cpu" in line for line in section):
        problems.append("environment.yml must add the CPU index of torch")
    local = [line for line in section if line.startswith(("-e", ".", "/", "file:")) or " @ file:" in line]
    if local:
        problems.append(f"environment.yml installs from the source tree, absent when Binder builds it: {local}")
    # setup.sh: every install of the package goes through constraints.txt.
    setup = (root / "scripts/setup.sh").read_text()
    installs = [line for line in setup.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    if not installs or any("-c constraints.txt" not in line for line in installs):
        problems.append(f"scripts/setup.sh must install with -c constraints.txt: {installs}")
    if "constraints.txt -nt" not in setup:
        problems.append("scripts/setup.sh must reinstall when constraints.txt changes")
    # CI installs only through the README commands (which run setup.sh).
    for workflow in sorted((root / ".github/workflows").glob("*.yml")):
        steps = [s for job in yaml.safe_load(workflow.read_text())["jobs"].values() for s in job.get("steps", [])]
        runs = " ".join(str(s.get("run", "")) for s in steps)
        if "pip install" in runs:
            problems.append(f"{workflow.name} installs with pip outside scripts/setup.sh")
        if "scripts/test.sh" not in runs and "scripts/book.sh" not in runs:
            problems.append(f"{workflow.name} runs neither scripts/test.sh nor scripts/book.sh")
    # pyproject.toml: ranges that admit every pin; the library's own dependencies are not pinned.
    meta = project(root)
    declared = [*meta["dependencies"], *(r for group in meta["optional-dependencies"].values() for r in group)]
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name} is declared in pyproject.toml but not pinned in constraints.txt")
        elif not req.specifier.contains(public(locked[name]), prereleases=True):
            problems.append(f"pyproject.toml's {line!r} excludes the pinned {req.name}=={locked[name]}")
    for line in meta["dependencies"]:
        if any(spec.operator in ("==", "===") for spec in Requirement(line).specifier):
            problems.append(f"pyproject.toml pins the library dependency {line!r}: declare a range")
    return problems


def test_pyproject_ranges_constraints_binder_setup_and_ci_agree():
    assert agreement_problems() == []


def test_agreement_check_catches_each_disagreement(tmp_path):
    """Controls: each file changed to disagree makes the check name the problem."""
    def variant(name: str, old: str, new: str) -> list[str]:
        root = tmp_path / name.replace("/", "_")
        for f in ("pyproject.toml", "constraints.txt", "environment.yml", "scripts/setup.sh",
                  ".github/workflows/tests.yml", ".github/workflows/book.yml"):
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            text = (ROOT / f).read_text()
            (root / f).write_text(text.replace(old, new) if f == name else text)
        assert old in (ROOT / name).read_text(), f"control {old!r} not found in {name}"
        return agreement_problems(root)

    assert any("differ" in p for p in variant("constraints.txt", "numpy==", "numpy==0.0.1\n#"))
    assert any("CPU build" in p for p in variant("environment.yml", "torch==2.13.0+cpu", "torch==2.13.0"))
    assert any("source tree" in p for p in variant("environment.yml", "      - zipp==", "      - -e .[book]\n      - zipp=="))
    assert any("-c constraints.txt" in p for p in variant("scripts/setup.sh", "-c constraints.txt ", ""))
    assert any("excludes" in p for p in variant("pyproject.toml", '"torch>=2.4"', '"torch>=2.14"'))
    assert any("declare a range" in p for p in variant("pyproject.toml", '"torch>=2.4"', '"torch==2.13.0"'))
    assert any("outside scripts/setup.sh" in p
               for p in variant(".github/workflows/tests.yml", "run: bash scripts/test.sh",
                                "run: pip install torch && bash scripts/test.sh"))


def changelog_versions() -> list[str]:
    return re.findall(r"^## \[?(\d+\.\d+\.\d+[^\]\s]*)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)


def test_one_version_licence_and_citation():
    version = str(Version(infobounds.__version__))  # a PEP 440 version, written in its normal form
    assert version == infobounds.__version__
    assert "version" in project()["dynamic"] and "version" not in project()  # read from infobounds.__version__
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == version and citation["license"] == project()["license"] == "MIT"
    assert changelog_versions()[0] == version
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def wheel_requirements(wheel: Path) -> tuple[str, list[str]]:
    """The wheel's version and Requires-Dist lines."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(name).decode())
    return meta["Version"], meta.get_all("Requires-Dist") or []


def build_wheel(tmp: Path) -> Path:
    """Build the wheel from a copy of what a clone holds, as ``pip wheel`` would, with this
    environment's setuptools (no download)."""
    source = copy_worktree(tmp / "clone")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
         str(source)], cwd=tmp, env=clean_env())
    (wheel,) = (tmp / "dist").glob("infobounds-*.whl")
    return wheel


def missing_subpackages(wheel: Path) -> list[str]:
    """The source tree's packages (folders with an __init__.py under src/) the wheel lacks."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = sorted(p.parent.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("__init__.py"))
    return [pkg for pkg in wanted if f"{pkg}/__init__.py" not in names]


IMPORT_ALL = """\
import importlib, pkgutil, sys, infobounds
names = [m.name for m in pkgutil.walk_packages(infobounds.__path__, "infobounds.")]
for name in names:
    importlib.import_module(name)
print(len(names), infobounds.__file__)
"""


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The wheel, built from a clone and installed (without the editable checkout) in a fresh venv
    outside the checkout that sees only its declared dependencies with the book extra."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp)
    version, requires = wheel_requirements(wheel)
    python = link_environment(tmp / "venv", closure(requires, {"book"}))
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp, env=clean_env())
    return wheel, version, python, tmp


def test_wheel_holds_every_subpackage_and_the_licence(installed_wheel):
    wheel, version, _, _ = installed_wheel
    assert missing_subpackages(wheel) == []
    assert version == infobounds.__version__
    with zipfile.ZipFile(wheel) as archive:
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())


def test_installed_wheel_imports_every_module_and_satisfies_its_ranges(installed_wheel):
    _, _, python, tmp = installed_wheel
    count, location = run([str(python), "-I", "-c", IMPORT_ALL], cwd=tmp, env=clean_env()).stdout.split()
    assert int(count) > 40
    assert Path(location).resolve().is_relative_to((tmp / "venv").resolve())
    assert not Path(location).resolve().is_relative_to(ROOT.resolve())
    # The declared ranges accept the linked (locked) versions; nothing is missing.
    run([sys.executable, "-m", "pip", "--python", str(python), "check"], cwd=tmp, env=clean_env())


def test_a_chapter_runs_against_the_installed_wheel(installed_wheel, tmp_path):
    _, version, python, tmp = installed_wheel
    site = next((tmp / "venv" / "lib").glob("python3*/site-packages"))
    report = execute_chapter(python, ROOT / "chapters" / f"{CHAPTER}.md", cwd=tmp,
                             env=clean_env(INFOBOUNDS_RESULTS=str(tmp_path / "results")))
    assert Path(report["executable"]) == python
    assert Path(report["file"]).resolve().is_relative_to(site.resolve())
    assert not Path(report["file"]).resolve().is_relative_to(ROOT.resolve())
    assert shadowing_entries(report, allowed=site) == []
    assert report["version"] == version
