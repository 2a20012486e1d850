"""The command line as a new user meets it: list, a tiny training run, resume, bad input."""

import json
import subprocess
import sys

import pytest

from infobounds.__main__ import main


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "infobounds", *args], capture_output=True, text=True,
                          timeout=300, **kw)


def test_list_names_models_and_chapters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "vib" in out and "01_information_measures" in out


def test_train_writes_checkpoint_and_metrics_then_resumes(tmp_path, capsys):
    assert main(["train", "vib", "--steps", "6", "--batch-size", "64", "--out", str(tmp_path),
                 "--checkpoint-every", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 6 and 0.0 <= report["metrics"]["accuracy"] <= 1.0
    assert (tmp_path / "vib.pt").is_file() and (tmp_path / "vib.json").is_file()
    assert main(["train", "vib", "--steps", "9", "--batch-size", "64", "--out", str(tmp_path), "--resume"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["steps"] == 9


def test_bad_model_name_is_one_clear_error_with_exit_code_2():
    result = run_cli("train", "resnet")
    assert result.returncode == 2
    assert "invalid choice: 'resnet'" in result.stderr and "vib" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,message", [(["train", "vib", "--steps", "-1"], "--steps"),
                                          (["reproduce", "99_nothing"], "unknown chapter")])
def test_bad_options_exit_2(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("sub", ["list", "train", "reproduce", "scoreboard"])
def test_every_subcommand_has_help(sub, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([sub, "--help"])
    assert exit_info.value.code == 0 and "usage:" in capsys.readouterr().out
