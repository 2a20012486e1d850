"""The command line: ``python -m infobounds {list,train,reproduce,scoreboard} ...``.

``list`` shows the models and chapters; ``train MODEL`` trains a model with its recipe and prints
the final metrics as JSON; ``reproduce CHAPTER|all`` executes chapters in the full profile (their
``results.record`` calls write ``results/full/``); ``scoreboard`` regenerates ``book/scoreboard.md``.
"""

from __future__ import annotations

import argparse
import json
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

    print("models (python -m infobounds train MODEL):")
    width = max(map(len, MODELS))
    for name, target in MODELS.items():
        print(f"  {name:{width}s} {target}{'' if name in RECIPES else '   (no command-line recipe; use it from Python)'}")
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
    profile = get_profile(args.profile, device=device)
    seed_everything(args.seed)
    setup = RECIPES[args.model](profile, args.batch_size, args.seed)
    steps = args.steps if args.steps else max(1, round(args.epochs * setup.steps_per_epoch))
    out = Path(args.out)
    checkpoint = out / f"{args.model}.pt"
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
    failed = []
    for name in wanted:
        try:
            entry = run_chapter(chapters[name], args.profile, args.cell_timeout)
        except Exception as err:  # keep going: one broken chapter must not cost the others' GPU time
            failed.append(name)
            print(f"{name}: FAILED in the {args.profile} profile: {type(err).__name__}: {str(err)[-2000:]}",
                  file=sys.stderr)
            continue
        print(f"{name}: executed in the {args.profile} profile on {entry['hardware']} in {entry['wall_s']:.0f} s; "
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

    parser = argparse.ArgumentParser(prog="python -m infobounds", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,train,reproduce,scoreboard}")

    p = sub.add_parser("list", help="list the models and chapters")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train a model with its recipe; prints final metrics as JSON")
    p.add_argument("model", choices=sorted(RECIPES), help="which model")
    p.add_argument("--profile", choices=["quick", "full"], default=None,
                   help="run profile (default: full with CUDA, quick otherwise)")
    p.add_argument("--epochs", type=float, default=3.0, help="passes over the training data (default 3)")
    p.add_argument("--steps", type=int, default=0, help="train this many steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=128, help="examples per step (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="runs", help="folder for the checkpoint and the metrics JSON (default runs/)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reproduce", help="execute a chapter (or all) in the full profile; chapters record results/full/")
    p.add_argument("chapter", help="chapter name such as 02_information_bottleneck, or all")
    p.add_argument("--profile", choices=["quick", "full"], default="full", help="profile to run (default full)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="stop a chapter whose cell runs longer than this many seconds (default: no limit)")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("scoreboard", help="regenerate the scoreboard page from results/")
    p.add_argument("--out", default=None, help="where to write it (default book/scoreboard.md)")
    p.set_defaults(func=cmd_scoreboard)
    assert set(RECIPES) <= set(MODELS), "every recipe names a registered model"
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 0) < 0 or getattr(args, "epochs", 1) <= 0 or getattr(args, "batch_size", 1) <= 0:
        print("infobounds: --steps must be >= 0, --epochs and --batch-size positive", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:  # bad settings or missing data: say so in one line
        print(f"infobounds: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
