#!/usr/bin/env bash
# Run chapters in the full profile on the lent GPU machine, in one call, and bring the results back.
#
# Runs THERE (device `run`, carry [".device"] made by scripts/device_prepare.sh). Prepare here:
#   git status --short        # clean: the recorded sha must name what ran
#   bash scripts/device_prepare.sh
# then one device call:
#   INFOBOUNDS_GIT_SHA=$(git rev-parse --short=12 HEAD) BUDGET_S=540 bash scripts/device_reproduce.sh 06_vae_rate_distortion ...
# and back here:
#   .venv/bin/python scripts/device_results.py unpack <files_at>/full_results.json
#
# Each chapter runs `python -m infobounds reproduce CHAPTER --profile full` while the budget lasts
# (a chapter is skipped when under 60 s remain, and killed at the budget); every chapter's metrics
# and its `_run` entry (wall time, training examples/s, GPU, torch, sha) are packed into
# $OUT/full_results.json, the log into $OUT/reproduce.log.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/infobounds-device-out}
mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-540}
PROFILE=${PROFILE:-full}  # quick: a rehearsal of this script on a CPU machine
start=$SECONDS
log="$OUT/reproduce.log"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl \
  >"$log" 2>&1 || { cat "$log"; exit 1; }
export PYTHONPATH="$PWD/src:/tmp/site" PATH="/tmp/site/bin:$PATH"
export INFOBOUNDS_RESULTS=/tmp/infobounds-results INFOBOUNDS_PROGRESS=0 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export INFOBOUNDS_GIT_SHA=${INFOBOUNDS_GIT_SHA:-unknown} INFOBOUNDS_DATA="$PWD/.device/data" INFOBOUNDS_OFFLINE=1
python3 -m ipykernel install --user --name python3 >>"$log" 2>&1   # the kernel nbclient starts
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } 2>&1 | tee -a "$log"
chapters=("$@")
if [ ${#chapters[@]} -eq 0 ]; then
  chapters=($(ls chapters/[0-9][0-9]_*.md | xargs -n1 basename | sed 's/\.md$//'))
fi
for ch in "${chapters[@]}"; do
  left=$((BUDGET_S - (SECONDS - start)))
  if [ "$left" -lt 60 ]; then echo "$ch: skipped, ${left}s of the budget left" | tee -a "$log"; continue; fi
  timeout "$left" python3 -m infobounds reproduce "$ch" --profile "$PROFILE" 2>&1 | tail -n 40 | tee -a "$log"
done
python3 scripts/device_results.py pack "$INFOBOUNDS_RESULTS/$PROFILE" "$OUT/${PROFILE}_results.json" 2>&1 | tee -a "$log"
