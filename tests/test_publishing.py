"""What can be checked here of publishing: the workflow and Binder files parse and say what they
must, and the Colab notebooks carry an install cell that runs where the package is installed."""

import sys
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_notebooks  # noqa: E402


def test_workflows_parse_and_run_the_readme_commands():
    book = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    tests = yaml.safe_load((ROOT / ".github/workflows/tests.yml").read_text())
    book_steps = " ".join(str(s.get("run", "")) for s in book["jobs"]["build"]["steps"])
    test_steps = " ".join(str(s.get("run", "")) for s in tests["jobs"]["test"]["steps"])
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/book.sh" in book_steps and "bash scripts/book.sh" in readme
    assert "bash scripts/test.sh" in test_steps and "bash scripts/test.sh" in readme
    assert "deploy-pages" in str(book["jobs"]["deploy"]["steps"])


def test_binder_environment_pins_a_cpu_torch():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "torch==2.13.0" in pip and any("download.pytorch.org/whl/cpu" in p for p in pip)
    assert (ROOT / "postBuild").stat().st_mode & 0o111


def test_colab_notebook_starts_with_an_install_cell_that_runs_here(tmp_path):
    chapter = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))[0]
    (path,) = make_notebooks.main(str(tmp_path), str(chapter))
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and "%pip install" in first.source and "git+https://" in first.source
    # Where the package is importable (here, Binder) the cell installs nothing and succeeds.
    only_first = nbformat.v4.new_notebook(cells=[first], metadata=nb.metadata)
    NotebookClient(only_first, timeout=60, kernel_name="python3").execute()
    assert not any(o.get("output_type") == "error" for o in only_first.cells[0].outputs)
    assert len(nb.cells) > 10
