"""Carry full-profile results back from the device machine in one file.

The device tool returns at most eight files, so ``pack`` bundles every ``results/full/*.json`` a run
wrote into one JSON object ``{chapter: contents}``; ``unpack`` merges such a bundle into this
checkout's ``results/full/`` (an entry from the bundle replaces the same key of an existing file).

usage: python scripts/device_results.py pack RESULTS_DIR BUNDLE
       python scripts/device_results.py unpack BUNDLE [RESULTS_DIR]   (default: results/full)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def pack(folder: Path, bundle: Path) -> None:
    data = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    bundle.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"packed {len(data)} chapter(s) into {bundle}: {', '.join(data) or 'none'}")


def unpack(bundle: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for chapter, entries in json.loads(bundle.read_text()).items():
        path = folder / f"{chapter}.json"
        merged = json.loads(path.read_text()) if path.is_file() else {}
        merged.update(entries)
        path.write_text(json.dumps(merged, indent=2, sort_keys=True))
        print(f"{path}: {len(entries)} entries")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "pack":
        pack(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "unpack":
        root = Path(__file__).resolve().parent.parent
        unpack(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) == 4 else root / "results" / "full")
    else:
        sys.exit(__doc__)
