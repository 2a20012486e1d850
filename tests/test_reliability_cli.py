"""Reliability probes 1.1-1.16 and 7.3 (``/work/shared/reviews/reliability-probes.md``): bad input on
the command line ends with exit code 2 and one line ``infobounds: ...`` naming the option or file
and its value, never a traceback, and never after a whole training run."""

import errno

import pytest

import infobounds.results
import infobounds.training
from infobounds.__main__ import main
from reliability_support import one_error_line, use_tiny_recipes


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROGRESS", "0")
    monkeypatch.delenv("INFOBOUNDS_PROFILE", raising=False)


@pytest.fixture
def tiny(monkeypatch):
    use_tiny_recipes(monkeypatch)


@pytest.fixture
def fit_calls(monkeypatch):
    """Record every call of the training loop from the CLI (and let it run)."""
    calls = []
    real_fit = infobounds.training.fit

    def recording_fit(*args, **kw):
        calls.append(kw)
        return real_fit(*args, **kw)

    monkeypatch.setattr(infobounds.training, "fit", recording_fit)
    return calls


def argparse_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "error:" in err and "Traceback" not in err
    return err


def test_probe_1_1_unknown_model_is_an_argparse_error(capsys):
    err = argparse_error(capsys, ["train", "resnet"])
    assert "invalid choice: 'resnet'" in err and "vib" in err


def test_probe_1_2_unknown_chapter_lists_the_chapters(capsys):
    assert main(["reproduce", "99_nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown chapter '99_nope'" in err and "01_information_measures" in err


@pytest.mark.parametrize("option,value,shown", [("--epochs", "-1", "-1"), ("--epochs", "0", "0"),
                                                ("--batch-size", "0", "0"), ("--batch-size", "-5", "-5"),
                                                ("--steps", "-3", "-3")])
def test_probe_1_3_each_range_error_names_its_option_and_value(capsys, option, value, shown):
    assert main(["train", "vib", option, value]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"infobounds: {option} must be") and line.endswith(f"got {shown}")


@pytest.mark.parametrize("option,value,kind", [("--epochs", "abc", "float"), ("--batch-size", "1.5", "int"),
                                               ("--steps", "abc", "int"), ("--seed", "1.5", "int")])
def test_probe_1_4_non_numbers_are_argparse_errors(capsys, option, value, kind):
    assert f"invalid {kind} value: '{value}'" in argparse_error(capsys, ["train", "vib", option, value])


@pytest.mark.parametrize("argv,message", [(["train", "vib", "--frobnicate"], "unrecognized arguments: --frobnicate"),
                                          (["frobnicate"], "invalid choice: 'frobnicate'"),
                                          ([], "required: {list,train,reproduce,scoreboard}"),
                                          (["train"], "required: model")])
def test_probe_1_5_unknown_options_and_missing_arguments(capsys, argv, message):
    assert message in argparse_error(capsys, argv)


def test_probe_1_6_unknown_profile(capsys):
    assert "invalid choice: 'turbo'" in argparse_error(capsys, ["train", "vib", "--profile", "turbo"])


def test_probe_1_7_bad_profile_environment_variable(capsys, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROFILE", "garbage")
    assert main(["train", "vib", "--steps", "1"]) == 2
    assert "INFOBOUNDS_PROFILE='garbage'" in one_error_line(capsys)


@pytest.mark.parametrize("value,shown", [("inf", "inf"), ("1e307", "1e+307")])
def test_probe_1_8_infinite_or_overflowing_epochs_name_the_option(capsys, tmp_path, value, shown):
    # 1e307 is finite; only 1e307 x 468 steps per epoch of the real vib recipe overflows.
    assert main(["train", "vib", "--epochs", value, "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"infobounds: --epochs {'must be' if value == 'inf' else shown}") and shown in line


def test_probe_1_9_nan_epochs_names_the_option(capsys):
    assert main(["train", "vib", "--epochs", "nan"]) == 2
    assert one_error_line(capsys) == "infobounds: --epochs must be a positive finite number, got nan"


@pytest.mark.parametrize("args,planned", [(["--epochs", "1e9"], 10**9 * 4),
                                          (["--steps", "99999999999999999999999999"], 99999999999999999999999999)])
def test_probe_1_10_huge_epochs_and_steps_are_accepted(capsys, tmp_path, monkeypatch, tiny, args, planned):
    # A legitimate if silly request: the run starts with all those steps planned (here stopped at once).
    planned_steps = []

    def first_step_only(model, data, *, steps, **kw):
        planned_steps.append(steps)
        return real_fit(model, data, steps=steps, stop_after=1, **kw)

    real_fit = infobounds.training.fit
    monkeypatch.setattr(infobounds.training, "fit", first_step_only)
    assert main(["train", "vib", *args, "--out", str(tmp_path)]) == 0
    assert planned_steps == [planned]  # the tiny recipe has 512 // 128 = 4 steps per epoch


def test_probe_1_11_negative_seed(capsys):
    assert main(["train", "vib", "--seed", "-1"]) == 2
    line = one_error_line(capsys)
    assert "seed" in line and "-1" in line


def test_probe_1_12_negative_checkpoint_every(capsys, tiny, tmp_path):
    assert main(["train", "vib", "--checkpoint-every", "-1", "--out", str(tmp_path)]) == 2
    assert "checkpoint" in one_error_line(capsys)


def test_probe_1_13_batch_larger_than_the_data(capsys, tiny, tmp_path):
    assert main(["train", "vib", "--batch-size", "100000000", "--out", str(tmp_path)]) == 2
    assert one_error_line(capsys) == "infobounds: batch_size 100000000 exceeds the number of examples 512"


def test_probe_1_14_out_that_is_a_file_is_refused_before_training(capsys, tiny, tmp_path, fit_calls):
    out = tmp_path / "F"
    out.touch()
    assert main(["train", "vib", "--steps", "2", "--out", str(out)]) == 2
    assert one_error_line(capsys) == f"infobounds: --out {out} is a file, not a folder"
    assert fit_calls == []  # nothing trained
    # a file further up is refused as well, by the loop, before its first step
    assert main(["train", "vib", "--steps", "2", "--out", str(out / "sub")]) == 2
    assert f"{out} is a file, not a folder" in one_error_line(capsys)


@pytest.mark.parametrize("value,shown", [("-5", "-5"), ("0", "0"), ("nan", "nan")])
def test_probe_1_15_non_positive_cell_timeout_is_refused(capsys, monkeypatch, value, shown):
    import infobounds.__main__ as cli

    def must_not_run(*args, **kw):
        raise AssertionError("the chapter ran")

    monkeypatch.setattr(cli, "run_chapter", must_not_run)
    assert main(["reproduce", "01_information_measures", "--profile", "quick", "--cell-timeout", value]) == 2
    line = one_error_line(capsys)
    assert line.startswith("infobounds: --cell-timeout must be") and line.endswith(f"got {shown}")


def test_probe_1_16_scoreboard_into_a_missing_folder(capsys, tmp_path):
    # The scoreboard writer now makes missing folders; where one cannot be made, one line names the path.
    target = tmp_path / "nonexistent" / "dir" / "sb.md"
    assert main(["scoreboard", "--out", str(target)]) == 0
    assert target.is_file() and capsys.readouterr().out.strip() == f"wrote {target}"
    (tmp_path / "F").touch()
    target = tmp_path / "F" / "dir" / "sb.md"
    assert main(["scoreboard", "--out", str(target)]) == 2
    assert str(target) in one_error_line(capsys)


@pytest.mark.parametrize("fault", ["read-only file system", "a folder at the path"])
def test_probe_7_3_scoreboard_into_an_unwritable_place(capsys, tmp_path, monkeypatch, fault):
    target = tmp_path / "sb.md"
    if fault == "a folder at the path":
        target.mkdir()
    else:
        # The probe used a read-only bind mount (the tests run as root, which ignores file modes).
        def read_only(path=None):
            raise OSError(errno.EROFS, "Read-only file system", str(path))

        monkeypatch.setattr(infobounds.results, "write_scoreboard", read_only)
    assert main(["scoreboard", "--out", str(target)]) == 2
    line = one_error_line(capsys)
    assert str(target) in line and ("Read-only file system" in line or "Is a directory" in line)


def test_debug_flag_shows_the_traceback_instead(capsys):
    for argv in (["--debug", "train", "vib", "--epochs", "nan"], ["train", "vib", "--epochs", "nan", "--debug"]):
        with pytest.raises(ValueError, match="--epochs must be a positive finite number, got nan"):
            main(argv)


def test_interrupt_is_one_line_with_exit_code_130(capsys, tiny, tmp_path, monkeypatch):
    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(infobounds.training, "fit", interrupted)
    try:
        rc = main(["train", "vib", "--steps", "2", "--out", str(tmp_path)])
    except KeyboardInterrupt:  # escaping, it would stop the whole pytest session
        pytest.fail("KeyboardInterrupt escaped main()")
    assert rc == 130
    assert "interrupted" in one_error_line(capsys)


def test_train_help_names_quick_as_the_default_profile(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "default: quick" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    assert "profile to run (default full)" in " ".join(capsys.readouterr().out.split())
