"""The results-store probes 7.1-7.6 of the reliability review (``reviews/reliability-probes.md``),
one test (or more) per probe; 7.3's command-line half is in the CLI tests. On 3a9ca49, 7.2 lost
updates, 7.4 raised a ``JSONDecodeError`` or ``KeyError`` naming no file, 7.5 wrote NaN and
Infinity (not JSON), 7.6 stamped the second record ``-dirty``, and files were created 0600."""

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from infobounds import results


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty results folder for this test (INFOBOUNDS_RESULTS)."""
    folder = tmp_path / "results"
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(folder))
    return folder


def _strict_json(path):
    """Parse as standard JSON: NaN and Infinity are not JSON, so they fail here."""
    def reject(token):
        raise ValueError(f"{path} holds {token}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=reject)


def test_7_1_an_unwritable_results_folder_names_the_results_file_and_keeps_the_old_one(store, monkeypatch):
    results.record("01_information_measures", "kept", 1.0, profile="quick")
    path = store / "quick" / "01_information_measures.json"
    before = path.read_text()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(store / "quick" / "x.tmp"))
    monkeypatch.setattr(results.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError, match=r"cannot write the results file .*01_information_measures\.json: "
                                      r"Read-only file system") as info:
        results.record("01_information_measures", "lost", 2.0, profile="quick")
    assert info.value.errno == errno.EROFS
    assert path.read_text() == before


CONCURRENT_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from infobounds import results
    results.git_sha = lambda root=None: "test"  # no git subprocess: the writes race harder
    who, go = sys.argv[1], Path(sys.argv[2])
    (go.parent / f"ready_{who}").touch()
    while not go.exists():
        time.sleep(0.001)
    for i in range(100):
        results.record("99_concurrency_probe", f"{who}_{i}", float(i), profile="quick")
""")


def test_7_2_two_processes_recording_at_once_lose_no_entry(store, tmp_path):
    # 3a9ca49 read, changed and replaced the file with no lock: 17 of 200 entries were lost.
    go = tmp_path / "go"
    env = {**os.environ, "INFOBOUNDS_RESULTS": str(store), "OMP_NUM_THREADS": "1"}
    writers = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, who, str(go)], env=env)
               for who in ("a", "b")]
    while not all((tmp_path / f"ready_{who}").exists() for who in ("a", "b")):
        assert all(w.poll() is None for w in writers), "a writer died before starting"
        time.sleep(0.01)
    go.touch()
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    saved = _strict_json(store / "quick" / "99_concurrency_probe.json")
    assert sorted(saved) == sorted(f"{who}_{i}" for who in ("a", "b") for i in range(100))
    assert not list((store / "quick").glob(".*.tmp"))


def test_7_2_a_failed_write_removes_its_temporary_file_and_keeps_the_old_file(store, monkeypatch):
    results.record("01_information_measures", "kept", 1.0, profile="quick")
    path = store / "quick" / "01_information_measures.json"
    before = path.read_text()

    def disk_error(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(results.os, "fsync", disk_error)
    with pytest.raises(OSError, match=r"cannot write the results file .*01_information_measures\.json"):
        results.record("01_information_measures", "lost", 2.0, profile="quick")
    monkeypatch.undo()
    assert path.read_text() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_7_2_results_files_are_readable_by_everyone(store, tmp_path):
    # mkstemp creates 0600; a results file (and the scoreboard) is 0644.
    results.record("01_information_measures", "x", 1.0, profile="quick")
    board = results.write_scoreboard(tmp_path / "scoreboard.md")
    for path in (store / "quick" / "01_information_measures.json", board):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_7_3_an_unwritable_scoreboard_path_raises_an_oserror_naming_it(store, tmp_path, monkeypatch):
    target = tmp_path / "site" / "sb.md"

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(results.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError, match=rf"cannot write the scoreboard to {target}: Read-only file system"):
        results.write_scoreboard(target)
    monkeypatch.undo()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OSError, match=r"cannot write the scoreboard to .*a_file/sb\.md"):
        results.write_scoreboard(blocker / "sb.md")


@pytest.mark.parametrize("content", ['{\n  "x": {"value": 1.0}', "", "[1, 2]", '{"x": 3}'])
def test_7_4_a_malformed_results_file_is_named_by_record_and_by_the_scoreboard(store, content):
    (store / "quick").mkdir(parents=True)
    broken = store / "quick" / "98_broken.json"
    broken.write_text(content)
    with pytest.raises(ValueError, match=r"results file .*98_broken\.json"):
        results.record("98_broken", "y", 1.0, profile="quick")
    with pytest.raises(ValueError, match=r"results file .*98_broken\.json"):
        results.scoreboard_markdown()
    assert broken.read_text() == content  # not overwritten


def test_7_4_the_scoreboard_tolerates_entries_without_provenance(store):
    (store / "quick").mkdir(parents=True)
    (store / "quick" / "05_distribution_shift.json").write_text(json.dumps({
        "bare": {"value": 0.5},
        "_run": {"wall_s": 10.0, "status": "ok"},
        "_claims": {"shift_hurts": {"statement": "It hurts.", "effect": 0.1, "sd": 0.01, "n_seeds": 3,
                                    "holds": True}},
    }))
    board = results.scoreboard_markdown()
    row = next(line for line in board.splitlines() if "| bare |" in line)
    assert "0.5" in row and "hardware not recorded, date not recorded, commit not recorded" in row
    assert "| 05_distribution_shift | ? | ok | 10 | — | — | hardware not recorded" in board
    assert "0.1 ± 0.01 (n = 3)" in board


@pytest.mark.parametrize("value, kind", [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf")])
def test_7_5_nan_and_inf_are_stored_as_json_and_shown_on_the_scoreboard(store, value, kind):
    with pytest.warns(RuntimeWarning, match=rf"01_information_measures broken is {kind}"):
        entry = results.record("01_information_measures", "broken", value, profile="quick")
    assert entry["value"] is None and entry["nonfinite"] == kind
    saved = _strict_json(store / "quick" / "01_information_measures.json")
    assert saved["broken"]["value"] is None and saved["broken"]["nonfinite"] == kind
    row = next(line for line in results.scoreboard_markdown().splitlines() if "| broken |" in line)
    assert f"**{kind}** (not a finite number)" in row


def test_7_5_a_file_written_with_nan_before_is_rewritten_as_json(store):
    (store / "quick").mkdir(parents=True)
    path = store / "quick" / "01_information_measures.json"
    path.write_text('{"old": {"metric": "old", "value": NaN}}')  # what 3a9ca49 wrote
    assert "**nan** (not a finite number)" in results.scoreboard_markdown()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a finite value warns about nothing
        results.record("01_information_measures", "new", 1.0, profile="quick")
    saved = _strict_json(path)
    assert saved["old"] == {"metric": "old", "value": None, "nonfinite": "nan"} and saved["new"]["value"] == 1.0


def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=probe", "-c", "user.email=probe@example.org", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_7_6_records_in_a_clean_checkout_are_not_stamped_dirty_by_their_own_writes(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    (repo / "results" / "quick").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'probe'\n")
    (repo / "results" / "quick" / "01_information_measures.json").write_text("{}")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "clean")
    head = _git(repo, "rev-parse", "--short=12", "HEAD")
    monkeypatch.delenv("INFOBOUNDS_RESULTS", raising=False)
    monkeypatch.setattr(results, "repository_root", lambda: repo)
    first = results.record("01_information_measures", "a", 1.0, profile="quick")
    second = results.record("01_information_measures", "b", 2.0, profile="quick")
    assert _git(repo, "status", "--porcelain")  # the records did change a tracked file
    assert first["git_sha"] == second["git_sha"] == head  # 3a9ca49: the second was f"{head}-dirty"
    # Control: a change outside results/ still marks the checkout dirty.
    (repo / "pyproject.toml").write_text("[project]\nname = 'changed'\n")
    assert results.record("01_information_measures", "c", 3.0, profile="quick")["git_sha"] == f"{head}-dirty"
