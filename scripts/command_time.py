"""Record the measured wall time of one of the README's two commands, for results/bench/ and the README.

``python scripts/command_time.py test STAGE`` (end of ``scripts/test.sh``) writes
``STAGE/test_command_time.json``: the whole command's seconds (set-up included), the tests' and the
smoke run's, and the pytest counts of its JUnit files. ``python scripts/command_time.py book STAGE``
(end of ``scripts/book.sh``) writes ``STAGE/book_command_time.json``: the whole command's seconds,
the chapters' (executed ``WORKERS`` at a time), and each chapter's seconds (the sum of its cells'
times in ``STAGE/junit-chapters.xml``, kernel start excluded). Both carry the commit, the hardware,
the thread setting and the date. The seconds come from the environment (``WALL_S``, ``TESTS_S``,
``SMOKE_S``, ``CHAPTERS_S``, ``WORKERS``), measured by the shell script itself.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from infobounds.results import git_sha, hardware


def _suite(stage: Path, name: str) -> ET.Element:
    root = ET.parse(stage / name).getroot()
    return root if root.tag == "testsuite" else root.find("testsuite")


def counts(stage: Path, name: str) -> dict[str, int]:
    suite = _suite(stage, name)
    n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return {**n, "passed": n["tests"] - n["failures"] - n["errors"] - n["skipped"]}


def chapter_seconds(stage: Path, name: str) -> dict[str, float]:
    """Seconds per chapter: the sum of its cells' times (nbval reports one test case per cell)."""
    seconds: dict[str, float] = defaultdict(float)
    for case in _suite(stage, name).iter("testcase"):
        chapter = case.get("classname", "").removeprefix("chapters.").removesuffix(".md")
        seconds[chapter] += float(case.get("time", 0.0))
    return {k: round(v, 1) for k, v in sorted(seconds.items())}


def record(command: str, stage: Path) -> dict:
    env = os.environ
    common = {"git_sha": git_sha(), "hardware": hardware(), "cpu_count": os.cpu_count(),
              "omp_num_threads": env.get("OMP_NUM_THREADS"), "profile": env.get("INFOBOUNDS_PROFILE"),
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}
    if command == "test":
        return {"command": "bash scripts/test.sh", "status": "passed", "wall_s": int(env["WALL_S"]),
                "wall_s_after_setup": int(env["TESTS_S"]), "smoke_wall_s": int(env["SMOKE_S"]), **common,
                "pytest": {"tests_and_chapters": counts(stage, "junit-tests-and-chapters.xml"),
                           "smoke": counts(stage, "junit-smoke.xml"), "site": counts(stage, "junit-site.xml")}}
    if command == "book":
        per_chapter = chapter_seconds(stage, "junit-chapters.xml")
        return {"command": "bash scripts/book.sh", "status": "passed", "wall_s": int(env["WALL_S"]),
                "chapters_wall_s": int(env["CHAPTERS_S"]), "chapters_at_a_time": int(env["WORKERS"]), **common,
                "chapter_cells_s": per_chapter, "chapter_cells_total_s": round(sum(per_chapter.values()), 1),
                "pytest": {"chapters": counts(stage, "junit-chapters.xml")}}
    raise SystemExit(f"command must be 'test' or 'book', got {command!r}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    stage = Path(sys.argv[2])
    out = stage / f"{sys.argv[1]}_command_time.json"
    entry = record(sys.argv[1], stage)
    out.write_text(json.dumps(entry, indent=2) + "\n")
    print(f"== the whole command took {entry['wall_s']} s: {out}")
