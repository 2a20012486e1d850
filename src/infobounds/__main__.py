"""The command line: ``python -m infobounds {list,train,reproduce,scoreboard} ...``.

``list`` shows the models and chapters; ``train MODEL`` trains a model with its recipe and prints
the final metrics as JSON; ``reproduce CHAPTER|all`` executes chapters in the full profile (their
``results.record`` calls write ``results/full/``); ``scoreboard`` regenerates ``book/scoreboard.md``.

Bad input, unreadable files and a diverging run end with one line ``infobounds: ...`` on stderr and
exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path


def _chapters() -> list[Path]:
    from infobounds.results import repository_root

    root = repository_root()
    return sorted((root / "chapters").glob("[0-9][0-9]_*.md")) if root else []


def cmd_list(args) -> int:
    from infobounds.models import MODELS
    from infobounds.recipes import RECIPES

    print("models (python -m infobounds train MODEL), each with the chapter whose experiment its recipe follows:")
    width = max(map(len, MODELS))
    by_chapter = sorted(MODELS, key=lambda name: (getattr(RECIPES.get(name), "chapter", "") or "~", name))
    for name in by_chapter:
        target = MODELS[name]
        if name not in RECIPES:
            where = "(no command-line recipe; use it from Python)"
        else:  # a recipe registered without a chapter (e.g. a course's own) shows none
            where = getattr(RECIPES[name], "chapter", "")
        print(f"  {name:{width}s} {where:32s} {target}")
    chapters = _chapters()
    print("chapters (python -m infobounds reproduce CHAPTER):")
    for path in chapters:
        print(f"  {path.stem}")
    if not chapters:
        print("  (the chapters live in the repository's chapters/ folder; this install has none)")
    return 0


def cmd_train(args) -> int:
    from infobounds.profiles import get_profile, seed_everything
    from infobounds.recipes import RECIPES
    from infobounds.training import fit

    device = None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # launched by torchrun: one process per device
        import torch
        import torch.distributed as dist

        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
            device = f"cuda:{local_rank}"
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    out = Path(args.out)
    checkpoint = out / f"{args.model}.pt"
    _check_out_folder(out, checkpoint, args.model, args.resume)
    profile = get_profile(args.profile, device=device)
    seed_everything(args.seed)
    setup = RECIPES[args.model](profile, args.batch_size, args.seed)
    steps = args.steps if args.steps else _steps_for_epochs(args.epochs, setup.steps_per_epoch)
    start = time.time()
    result = fit(setup.model, setup.stream, steps=steps, seed=args.seed, checkpoint=checkpoint,
                 checkpoint_every=args.checkpoint_every, resume=args.resume, autocast=profile.autocast,
                 desc=args.model)
    metrics = {k: float(v) for k, v in setup.evaluate().items()}
    report = {"model": args.model, "profile": profile.name, "steps": result.steps,
              "seconds": round(time.time() - start, 2), "checkpoint": str(checkpoint), "metrics": metrics}
    (out / f"{args.model}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


def _check_out_folder(out: Path, checkpoint: Path, model: str, resume: bool) -> None:
    """Refuse, before any data is loaded or step trained, an ``--out`` the run could not write to
    at its end, and a ``--resume`` with nothing to resume."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    for path in (checkpoint, out / f"{model}.json"):
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not a file: remove it or pick another --out than {out}")
    if resume and not checkpoint.is_file():
        raise ValueError(f"--resume: there is no checkpoint {checkpoint} to continue "
                         "(check --out, or drop --resume to start a fresh run)")


def _steps_for_epochs(epochs: float, steps_per_epoch: int) -> int:
    """The steps of ``--epochs`` passes (rounded, at least one); an overflow is a bad ``--epochs``."""
    total = epochs * steps_per_epoch
    if not math.isfinite(total):
        raise ValueError(f"--epochs {epochs:g} is too many: {epochs:g} x {steps_per_epoch} steps per epoch "
                         "overflows")
    return max(1, round(total))


def run_chapter(path: Path, profile: str, cell_timeout: float | None = None) -> dict:
    """Execute the chapter at ``path`` in ``profile`` in a fresh kernel and record its run.

    The chapter's own ``results.record`` calls write its metrics to ``results/<profile>/``; this adds
    the ``_run`` entry (:func:`infobounds.results.record_run`): the chapter's wall time and the
    throughput of its ``fit`` calls, which the kernel appends to a run log. A failing cell is
    recorded as ``status: failed`` and re-raised.
    """
    import tempfile

    import jupytext
    from nbclient import NotebookClient

    from infobounds.results import record_run
    from infobounds.training.loop import RUN_LOG_VAR

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "fits.jsonl"
        saved = {k: os.environ.get(k) for k in ("INFOBOUNDS_PROFILE", RUN_LOG_VAR)}
        os.environ.update({"INFOBOUNDS_PROFILE": profile, RUN_LOG_VAR: str(log)})  # the kernel inherits both
        start, status = time.time(), "failed"
        try:
            nb = jupytext.read(path)
            NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            status = "ok"
        finally:
            wall = time.time() - start
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            fits = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
            entry = record_run(path.stem, profile=profile, wall_s=wall, train_s=sum(f["seconds"] for f in fits),
                               examples=sum(f["examples"] for f in fits), fits=len(fits), status=status)
    return entry


def cmd_reproduce(args) -> int:
    chapters = {p.stem: p for p in _chapters()}
    wanted = list(chapters) if args.chapter == "all" else [args.chapter]
    unknown = [c for c in wanted if c not in chapters]
    if unknown:
        print(f"infobounds reproduce: unknown chapter {unknown[0]!r}; choose one of: all, {', '.join(chapters)}",
              file=sys.stderr)
        return 2
    if args.smoke:  # the chapters' kernels inherit it: a few steps per fit, stand-in data, nothing recorded
        os.environ["INFOBOUNDS_SMOKE"] = "1"
    failed = []
    for name in wanted:
        try:
            entry = run_chapter(chapters[name], args.profile, args.cell_timeout)
        except Exception as err:  # keep going: one broken chapter must not cost the others' GPU time
            failed.append(name)
            print(f"{name}: FAILED in the {args.profile} profile: {type(err).__name__}: {str(err)[-2000:]}",
                  file=sys.stderr)
            continue
        print(f"{name}: executed in the {args.profile} profile{' (smoke run: nothing recorded)' if args.smoke else ''} "
              f"on {entry['hardware']} in {entry['wall_s']:.0f} s; "
              f"training {entry['examples_per_s'] or 0:.0f} examples/s over {entry['fits']} fits")
    if failed:
        print(f"infobounds reproduce: {len(failed)} chapter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_scoreboard(args) -> int:
    from infobounds.results import write_scoreboard

    path = write_scoreboard(args.out)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from infobounds.models import MODELS
    from infobounds.recipes import RECIPES

    # --debug is accepted before and after the subcommand; SUPPRESS keeps a subcommand's default
    # from overwriting a --debug given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error instead of a one-line message")
    parser = argparse.ArgumentParser(prog="python -m infobounds", description=__doc__.split("\n\n")[0],
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,train,reproduce,scoreboard}")

    p = sub.add_parser("list", help="list the models and chapters", parents=[common])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train a model with its recipe; prints final metrics as JSON", parents=[common])
    p.add_argument("model", choices=sorted(RECIPES), help="which model")
    p.add_argument("--profile", choices=["quick", "full"], default=None,
                   help="run profile (default: quick, or $INFOBOUNDS_PROFILE; full is the papers' setting)")
    p.add_argument("--epochs", type=float, default=3.0, help="passes over the training data (default 3)")
    p.add_argument("--steps", type=int, default=0, help="train this many steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=128, help="examples per step (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="runs", help="folder for the checkpoint and the metrics JSON (default runs/)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reproduce", help="execute a chapter (or all) in the full profile; chapters record results/full/",
                       parents=[common])
    p.add_argument("chapter", help="chapter name such as 02_information_bottleneck, or all")
    p.add_argument("--profile", choices=["quick", "full"], default="full", help="profile to run (default full)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="stop a chapter whose cell runs longer than this many seconds (default: no limit)")
    p.add_argument("--smoke", action="store_true",
                   help="rehearse on a CPU: the profile's networks and batch sizes, but a few steps per training "
                        "run, a few hundred examples per data set, stand-ins for missing data, nothing recorded")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("scoreboard", help="regenerate the scoreboard page from results/", parents=[common])
    p.add_argument("--out", default=None, help="where to write it (default book/scoreboard.md)")
    p.set_defaults(func=cmd_scoreboard)
    assert set(RECIPES) <= set(MODELS), "every recipe names a registered model"
    return parser


_FINITE_POSITIVE = "a positive finite number"
OPTION_RULES = [  # (option, attribute, rule, holds); NaN fails every comparison, so it fails each rule
    ("--epochs", "epochs", _FINITE_POSITIVE, lambda v: v > 0 and math.isfinite(v)),
    ("--steps", "steps", ">= 0", lambda v: v >= 0),
    ("--batch-size", "batch_size", "positive", lambda v: v > 0),
    ("--seed", "seed", ">= 0", lambda v: v >= 0),
    ("--checkpoint-every", "checkpoint_every", ">= 0", lambda v: v >= 0),
    ("--cell-timeout", "cell_timeout", f"{_FINITE_POSITIVE} of seconds (leave it out for no limit)",
     lambda v: v is None or (v > 0 and math.isfinite(v))),
]


def check_options(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` naming the first option of the subcommand whose value breaks its rule,
    and that value."""
    for option, attribute, rule, holds in OPTION_RULES:
        if not hasattr(args, attribute):
            continue
        value = getattr(args, attribute)
        if not holds(value):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise ValueError(f"{option} must be {rule}, got {shown}")


def error_message(err: BaseException) -> str:
    """The message for an expected error: an OS error as ``file: reason`` (without its ``[Errno n]``),
    any other as it is (the package's own errors name the option or file and its value)."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror if err.filename is None else f"{err.filename}: {err.strerror}"
    return str(err)


def main(argv: list[str] | None = None) -> int:
    from infobounds.training.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    # Bad settings, missing or corrupt files (data loaders and checkpoints name the file), unwritable
    # folders, a diverging run: say so in one line. Anything else is a bug and keeps its traceback.
    expected = (CheckpointError, ValueError, OSError, EOFError, FloatingPointError)
    try:
        check_options(args)
        return args.func(args)
    except expected as err:
        if getattr(args, "debug", False):
            raise
        print(f"infobounds: {error_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        print("infobounds: interrupted (a training run keeps its last periodic checkpoint)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
