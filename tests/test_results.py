"""Recording results with provenance, and the scoreboard generated from them."""

import json

import pytest

from infobounds import results


def test_record_writes_provenance_and_scoreboard_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    entry = results.record("02_information_bottleneck", "test_error", 0.131, profile="quick", paper=0.0113,
                           unit="fraction")
    assert {"hardware", "git_sha", "date", "torch"} <= set(entry)
    saved = json.loads((tmp_path / "quick" / "02_information_bottleneck.json").read_text())
    assert saved["test_error"]["value"] == 0.131
    board = results.scoreboard_markdown()
    row = next(line for line in board.splitlines() if "test_error" in line)
    assert "0.0113" in row and "0.131" in row and "not yet run on a GPU" in row


def test_scoreboard_shows_a_full_profile_result_with_its_hardware(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "09_infogan.json").write_text(json.dumps({"code_error": {
        "metric": "code_error", "value": 0.05, "unit": "fraction", "paper": 0.05, "profile": "full",
        "hardware": "NVIDIA H200", "torch": "2.13.0", "git_sha": "abc123", "date": "2026-11-29", "note": ""}}))
    board = results.scoreboard_markdown()
    row = next(line for line in board.splitlines() if "09_infogan" in line)
    assert "NVIDIA H200" in row and "abc123" in row and "not recorded" in row
    out = results.write_scoreboard(tmp_path / "scoreboard.md")
    assert out.read_text().startswith("# Scoreboard")


def test_empty_scoreboard(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    assert "No results have been recorded yet." in results.scoreboard_markdown()


def test_record_rejects_a_chapter_name_that_is_not_a_file_stem(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match="file stem"):
        results.record("cmi_disentanglement", "gap", 0.3, profile="quick")


def test_record_run_is_kept_apart_from_the_metrics_and_listed_under_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    results.record("06_vae_rate_distortion", "rate", 12.5, profile="full", unit="nats")
    assert "No chapter has been run" in results.scoreboard_markdown()
    run = results.record_run("06_vae_rate_distortion", profile="full", wall_s=300.0, train_s=240.0,
                             examples=2_400_000, fits=5)
    assert run["examples_per_s"] == 10_000.0 and {"hardware", "git_sha", "torch", "date"} <= set(run)
    board = results.scoreboard_markdown()
    metric_rows = [line for line in board.splitlines() if line.startswith("| 06_vae")]
    assert len(metric_rows) == 2 and "_run" not in board  # one metric row and one run row
    assert "| 06_vae_rate_distortion | full | ok | 300 | 240 | 1e+04 |" in board
    with pytest.raises(ValueError, match="file stem"):
        results.record_run("vae", profile="full", wall_s=1, train_s=1, examples=1, fits=1)
