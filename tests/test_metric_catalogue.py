"""The scoreboard explains itself: every metric the chapters record has a description (meaning,
better direction, chance level) in ``infobounds.metric_catalogue``, and the scoreboard prints it."""

import json
from pathlib import Path

import pytest

from infobounds import results
from infobounds.metric_catalogue import HIGHER, MetricDescription, describe

ROOT = Path(__file__).resolve().parents[1]
QUICK = sorted((ROOT / "results" / "quick").glob("[0-9][0-9]_*.json"))


def _metrics(path: Path) -> list[str]:
    return sorted(k for k in json.loads(path.read_text()) if not k.startswith("_"))


@pytest.mark.parametrize("path", QUICK, ids=[p.stem[:2] for p in QUICK])
def test_every_recorded_metric_is_described(path):
    missing = [m for m in _metrics(path) if describe(path.stem, m) is None]
    assert not missing, f"{path.stem}: no entry in infobounds.metric_catalogue for {missing}"
    for metric in _metrics(path):
        about = describe(path.stem, metric)
        assert about.meaning and about.better and "{" not in about.meaning, (metric, about)


def test_control_an_unknown_metric_or_chapter_has_no_description():
    assert describe("05_distribution_shift", "reversed_env_accuracy_irm") is not None
    assert describe("05_distribution_shift", "made_up_metric") is None
    assert describe("06_vae_rate_distortion", "reversed_env_accuracy_irm") is None  # wrong chapter


def test_a_name_inside_the_metric_becomes_words():
    about = describe("18_multimodal_vaes", "mmvae_x_to_y_coherence")
    assert about == MetricDescription("digit → garment coherence of MMVAE: share of generated pairs whose "
                                      "classes agree", HIGHER, "0.1 (ten classes)")
    assert "the β-VAE metric of FactorVAE" == describe("13_factorvae", "beta_vae_factorvae").meaning


def test_the_scoreboard_prints_the_description_the_note_and_escapes_pipes(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    results.record("12_closed_loop_transcription", "fm_between_class_abs_cosine", 0.25, profile="quick",
                   unit="|cos|")
    results.record("15_cmi_disentanglement", "cmi_estimate_gaussian", 0.5, profile="quick", unit="nats",
                   note="true 0.511")
    results.record("15_cmi_disentanglement", "made_up_metric", 1.0, profile="quick")
    board = results.scoreboard_markdown()
    row = next(line for line in board.splitlines() if line.startswith("| fm_between_class_abs_cosine |"))
    assert "mean \\|cos\\| between features" in row and "0.25 \\|cos\\|" in row
    assert row.count(" | ") == 5  # six cells: the pipes inside them are escaped
    row = next(line for line in board.splitlines() if line.startswith("| cmi_estimate_gaussian |"))
    assert "closer to the truth" in row and "<sub>true 0.511; " in row
    row = next(line for line in board.splitlines() if line.startswith("| made_up_metric |"))
    assert row.startswith("| made_up_metric | — | — | — |")
    assert "### {doc}`../chapters/15_cmi_disentanglement`" in board
