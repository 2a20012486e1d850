"""The concluding chapter (``scripts/conclusion.py``): one row per chapter, and a claims column read
from the recorded results, so it changes when a claim's verdict does."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import conclusion  # noqa: E402
from infobounds import results  # noqa: E402

STEMS = [p.stem for p in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))]


def _row(page: str, stem: str) -> str:
    return next(line for line in page.splitlines() if f"<../chapters/{stem}>`" in line)


def test_one_row_per_chapter_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    page = conclusion.conclusion_markdown()
    rows = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert [next(s for s in STEMS if f"<../chapters/{s}>`" in row) for row in rows] == STEMS
    assert all(row.count(" | ") == 4 for row in rows)  # five cells, no stray pipe
    assert "(conclusion)=\n# What the bounds told us" in page


def test_control_a_chapter_without_a_row_is_refused(tmp_path):
    spec = yaml.safe_load((ROOT / "book" / "conclusion.yml").read_text())
    del spec["rows"][STEMS[3]]
    path = tmp_path / "conclusion.yml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SystemExit, match=STEMS[3]):
        conclusion.conclusion_markdown(spec_path=path)


@pytest.mark.parametrize("holds, verdict", [(True, "holds (quick)"), (False, "**does not hold** (quick)")])
def test_the_claims_column_is_the_recorded_verdict(tmp_path, monkeypatch, holds, verdict):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    stem = "04_transfer_entropy_bottleneck"
    assert _row(conclusion.conclusion_markdown(), stem).endswith("| no claim recorded |")
    results.record_claim(stem, "teb_estimate_recovers_te", "The estimate recovers TE.", 0.02, 0.004, 3, holds,
                         profile="quick")
    row = _row(conclusion.conclusion_markdown(), stem)
    assert row.endswith(f"| `teb_estimate_recovers_te`: {verdict} |")
    assert _row(conclusion.conclusion_markdown(placeholder=True), stem).endswith(f"| {conclusion.PLACEHOLDER} |")


def test_a_staged_book_gets_the_verdicts_of_the_run_that_built_it(tmp_path, monkeypatch):
    import stage_book

    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path / "run-results"))
    target = tmp_path / "book-stage"
    (target / "book").mkdir(parents=True)
    stage_book.write_conclusion(target, placeholder=True)  # what 'sources' writes before the chapters run
    stem = "04_transfer_entropy_bottleneck"
    assert _row((target / "book" / "conclusion.md").read_text(), stem).endswith(f"| {conclusion.PLACEHOLDER} |")
    results.record_claim(stem, "teb_estimate_recovers_te", "The estimate recovers TE.", 0.02, 0.004, 3, True,
                         profile="quick")
    stage_book.stage(target, "scoreboard")  # after the chapters ran
    assert _row((target / "book" / "conclusion.md").read_text(), stem).endswith(
        "| `teb_estimate_recovers_te`: holds (quick) |")
