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
    assert "torch==2.13.0+cpu" in pip and any("download.pytorch.org/whl/cpu" in p for p in pip)
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


def test_book_pages_are_staged_as_notebooks_so_launch_buttons_open_ipynb(tmp_path):
    import stage_book

    stage_book.stage(tmp_path, "sources")
    staged = sorted(p.stem for p in (tmp_path / "chapters").glob("*.ipynb"))
    assert staged == [p.stem for p in stage_book.chapter_sources()]
    assert nbformat.read(tmp_path / "chapters" / f"{staged[0]}.ipynb", as_version=4).cells
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["repository"]["branch"] == "notebooks"
    # Only a build whose command prints the PDF offers it: a link from every page to a missing file
    # otherwise (tests/site checks the link and the file of the test command's build).
    assert "infobounds_book_pdf" not in config["sphinx"]["config"]


def test_staging_with_pdf_offers_the_book_pdf(tmp_path):
    import stage_book

    stage_book.stage(tmp_path, "sources", pdf=True)
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["infobounds_book_pdf"] == stage_book.BOOK_PDF == "book.pdf"


def test_theorem_index_follows_the_table_of_contents():
    # (The landing page's chapter graph, which replaced the parts figure, is tested in
    # tests/test_chapter_graph.py.)
    import theorem_index

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    in_toc = {int(Path(c["file"]).name[:2]) for p in toc["parts"] for c in p["chapters"]
              if c["file"].startswith("chapters/")}
    assert in_toc == set(range(1, 22))

    index = theorem_index.index()
    for number in in_toc:
        (chapter,) = (ROOT / "chapters").glob(f"{number:02d}_*.md")
        labels = [label for *_, label in theorem_index.results(chapter)[1]]
        assert labels, f"{chapter.name} proves no labelled theorem"
        assert all(f"{{prf:ref}}`{label}`" in index for label in labels)
