"""The command line as a new user meets it: list, a tiny training run, resume, bad input."""

import json
import os
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


TINY_CHAPTER = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A tiny chapter

```{code-cell} ipython3
import torch
from infobounds.data.iterators import BatchStream
from infobounds.models.vib import VIB, VIBConfig
from infobounds.profiles import get_profile
from infobounds.results import record
from infobounds.training import fit

profile = get_profile()
x, y = torch.rand(256, 12), torch.randint(0, 3, (256,))
result = fit(VIB(VIBConfig(input_dim=12, hidden=(8,), latent_dim=2, n_classes=3)),
             BatchStream(x, y, batch_size=32, seed=0), steps=profile.pick(quick=7, full=9), progress=False)
record("99_tiny_chapter", "steps", result.steps, profile=profile.name)
```

```{code-cell} ipython3
assert FAIL is False
```
'''


def test_reproduce_records_the_chapter_run_with_its_throughput(tmp_path, monkeypatch):
    from infobounds.__main__ import run_chapter

    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path / "results"))
    chapter = tmp_path / "99_tiny_chapter.md"
    chapter.write_text(TINY_CHAPTER.replace("assert FAIL is False", "assert profile.name == 'quick'"))
    entry = run_chapter(chapter, "quick", cell_timeout=120)
    saved = json.loads((tmp_path / "results" / "quick" / "99_tiny_chapter.json").read_text())
    assert saved["steps"]["value"] == 7  # the chapter ran in the profile it was given
    run = saved["_run"]
    assert run == entry and run["status"] == "ok" and run["fits"] == 1 and run["examples"] == 7 * 32
    assert run["examples_per_s"] > 0 and run["wall_s"] >= run["train_s"] > 0
    assert {"hardware", "torch", "git_sha", "date"} <= set(run)
    # a failing cell is recorded as such and raised, and the runner leaves the environment as it was
    chapter.write_text(TINY_CHAPTER)
    with pytest.raises(Exception, match="FAIL"):
        run_chapter(chapter, "full", cell_timeout=120)
    failed = json.loads((tmp_path / "results" / "full" / "99_tiny_chapter.json").read_text())
    assert failed["_run"]["status"] == "failed" and failed["steps"]["value"] == 9
    assert "INFOBOUNDS_RUN_LOG" not in os.environ
