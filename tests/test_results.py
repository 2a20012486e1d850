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
    assert "0.0113" in row and "0.131" in row and "not yet run on a GPU" not in row
    assert "No chapter has been run in the full profile yet" in board  # said once, not per row


def test_scoreboard_shows_a_full_profile_result_with_its_hardware(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "09_infogan.json").write_text(json.dumps({"code_error": {
        "metric": "code_error", "value": 0.05, "unit": "fraction", "paper": 0.05, "profile": "full",
        "hardware": "NVIDIA H200", "torch": "2.13.0", "git_sha": "abc123", "date": "2026-11-29", "note": ""}}))
    board = results.scoreboard_markdown()
    assert "### {doc}`../chapters/09_infogan`" in board  # a section per chapter, linking to it
    row = next(line for line in board.splitlines() if line.startswith("| code_error |"))
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
    metric_rows = [line for line in board.split("## Claims")[0].splitlines()
                   if line.startswith("| ") and not line.startswith("| metric |")]
    assert len(metric_rows) == 1 and "_run" not in board  # one metric row (and one run row, below)
    assert "| 06_vae_rate_distortion | full | ok | 300 | 240 | 1e+04 |" in board
    with pytest.raises(ValueError, match="file stem"):
        results.record_run("vae", profile="full", wall_s=1, train_s=1, examples=1, fits=1)


def _claim(**change):
    args = dict(chapter="13_factorvae", name="tc_below_beta_vae",
                statement="FactorVAE's total correlation is below beta-VAE's at a matched distortion.",
                effect=-0.61, sd=0.05, n_seeds=3, holds=True, profile="quick", paper=-0.4, source="Fig. 4")
    args.update(change)
    return args


def test_record_claim_stores_the_claim_by_name_with_provenance_and_the_scoreboard_lists_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    results.record("13_factorvae", "tc_factorvae", 0.02, profile="quick", unit="nats")
    entry = results.record_claim(**_claim())
    results.record_claim(**_claim(name="distortion_not_worse", statement="Distortion | not worse.", effect=0.5,
                                  sd=0.2, n_seeds=5, holds=False, paper=None, source=""))
    results.record_claim(**_claim(profile="full", effect=-0.38, sd=0.02, n_seeds=4))
    assert {"hardware", "git_sha", "date", "torch"} <= set(entry) and entry["holds"] is True
    saved = json.loads((tmp_path / "quick" / "13_factorvae.json").read_text())
    assert set(saved["_claims"]) == {"tc_below_beta_vae", "distortion_not_worse"}
    assert saved["_claims"]["tc_below_beta_vae"]["effect"] == -0.61 and saved["tc_factorvae"]["value"] == 0.02
    board = results.scoreboard_markdown()
    claims = board.split("## Claims")[1].split("## Runs")[0]
    assert "(scoreboard-claims)=\n## Claims" in board
    (tc_row,) = [line for line in claims.splitlines() if "`tc_below_beta_vae`" in line]
    assert tc_row.startswith("| 13_factorvae | `tc_below_beta_vae`: FactorVAE's total correlation is below")
    assert "| Fig. 4 (paper: -0.4) |" in tc_row
    assert tc_row.index("-0.38 ± 0.02 (n = 4)") < tc_row.index("-0.61 ± 0.05 (n = 3)")  # full, then quick
    assert tc_row.endswith("| yes |") and tc_row.count("| yes |") == 2
    (d_row,) = [line for line in claims.splitlines() if "`distortion_not_worse`" in line]
    assert "Distortion \\| not worse." in d_row and "| — |" in d_row  # the | is escaped; no paper source
    assert "not yet run on a GPU" in d_row and d_row.endswith("| **no** |")
    metric_rows = [line for line in board.split("## Claims")[0].splitlines()
                   if line.startswith("| ") and not line.startswith("| metric |")]
    assert len(metric_rows) == 1  # _claims is not a metric


def test_scoreboard_without_claims_says_so_and_keeps_the_label_the_intro_links_to(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    board = results.scoreboard_markdown()
    assert "(scoreboard-claims)=\n## Claims" in board and "No chapter has recorded a claim" in board


@pytest.mark.parametrize("change, message", [
    (dict(name="TC below"), r"name must be a snake_case identifier.*got 'TC below'"),
    (dict(name="_hidden"), r"name must be a snake_case identifier"),
    (dict(statement="  "), r"statement must be a non-empty sentence"),
    (dict(effect=float("nan")), r"effect must be finite, got nan"),
    (dict(effect="big"), r"effect must be a number, got 'big'"),
    (dict(sd=-0.1), r"sd must be >= 0, got -0.1"),
    (dict(sd=float("inf")), r"sd must be finite, got inf"),
    (dict(n_seeds=0), r"n_seeds must be >= 1, got 0"),
    (dict(n_seeds=3.0), r"n_seeds must be an int, got 3.0"),
    (dict(holds=1), r"holds must be a bool, got 1"),
    (dict(paper=float("nan")), r"paper must be finite, got nan"),
    (dict(source=""), r"source must name the paper's table or figure .*got ''"),
    (dict(source="Kim and Mnih"), r"source must name the paper's table or figure .*got 'Kim and Mnih'"),
    (dict(profile="fast"), r"unknown profile 'fast'"),
    (dict(chapter="factorvae"), r"chapter must be a chapter's file stem"),
])
def test_record_claim_rejects_bad_input_by_name(tmp_path, monkeypatch, change, message):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match=message):
        results.record_claim(**_claim(**change))
    assert not (tmp_path / "quick" / "13_factorvae.json").exists()


def test_record_claim_accepts_numpy_results(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    entry = results.record_claim(**_claim(effect=np.float32(-0.5), sd=np.float64(0.1), n_seeds=np.int64(3),
                                          holds=np.bool_(True)))
    assert entry["holds"] is True and entry["n_seeds"] == 3 and entry["effect"] == -0.5
    assert json.loads((tmp_path / "quick" / "13_factorvae.json").read_text())["_claims"]["tc_below_beta_vae"]["holds"]


def test_record_rejects_reserved_and_bad_metric_names_and_profiles(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match=r"metric must be a non-empty name not starting with '_'.*got '_claims'"):
        results.record("13_factorvae", "_claims", 1.0, profile="quick")
    with pytest.raises(ValueError, match=r"unknown profile '../x'"):
        results.record("13_factorvae", "tc", 1.0, profile="../x")
    with pytest.raises(ValueError, match=r"value must be a number, got 'high'"):
        results.record("13_factorvae", "tc", "high", profile="quick")
    with pytest.raises(ValueError, match=r"paper must be finite, got inf"):
        results.record("13_factorvae", "tc", 1.0, profile="quick", paper=float("inf"))
    assert not (tmp_path / "quick").exists()
