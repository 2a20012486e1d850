"""scripts/device_results.py: full-profile results travel back from the GPU machine in one file and
merge into results/full/ without losing what was there."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "device_results.py"


def test_pack_then_unpack_merges_into_existing_files(tmp_path):
    ran = tmp_path / "ran"
    ran.mkdir()
    (ran / "06_vae_rate_distortion.json").write_text(json.dumps({"rate": {"value": 1.0}, "_run": {"wall_s": 9.0}}))
    (ran / "13_factorvae.json").write_text(json.dumps({"disentanglement": {"value": 0.8}}))
    bundle = tmp_path / "full_results.json"
    subprocess.run([sys.executable, str(SCRIPT), "pack", str(ran), str(bundle)], check=True, capture_output=True)
    assert set(json.loads(bundle.read_text())) == {"06_vae_rate_distortion", "13_factorvae"}

    results = tmp_path / "results" / "full"
    results.mkdir(parents=True)
    (results / "06_vae_rate_distortion.json").write_text(json.dumps({"rate": {"value": 0.5}, "distortion": {"value": 2.0}}))
    subprocess.run([sys.executable, str(SCRIPT), "unpack", str(bundle), str(results)], check=True, capture_output=True)
    merged = json.loads((results / "06_vae_rate_distortion.json").read_text())
    assert merged == {"rate": {"value": 1.0}, "distortion": {"value": 2.0}, "_run": {"wall_s": 9.0}}
    assert json.loads((results / "13_factorvae.json").read_text()) == {"disentanglement": {"value": 0.8}}
    usage = subprocess.run([sys.executable, str(SCRIPT), "frobnicate"], capture_output=True, text=True)
    assert usage.returncode != 0 and "usage" in usage.stderr
