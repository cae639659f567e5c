#!/usr/bin/env bash
# Accuracy side of the input-size trade-off: single-task arms of the sampler comparison repeated at a smaller
# input (default 192 px) with the identical step budget, seed and schedule, to set beside the 256 px arms
# (single_<task>_<steps>). Sequential, resumable, one thread; run from the repository root:
#   nice -n 19 models/training/size_arms.sh > models/training/runs/size_arms.out 2>&1 &
set -euo pipefail
PY=/usr/bin/python3
export CXR_THREADS=${CXR_THREADS:-1}
SIZE=${SIZE:-192}
ARMS=${ARMS:-"seg:78 det:441 cls:981"}
for arm in $ARMS; do
  task=${arm%%:*}; steps=${arm##*:}
  run=single_${task}_${steps}_s${SIZE}
  if [ -f models/training/runs/$run/eval.json ]; then echo "skip $run (done)"; continue; fi
  warm=$(( (100 * steps + 750) / 1500 ))
  echo "=== $run (warmup $warm) $(date -u +%H:%M:%S)"
  $PY -m models.training.train --run "$run" --size "$SIZE" --sampler "single:$task" --steps "$steps" \
      --warmup "$warm" --no-cross-task-labels --ckpt-every 100 --resume
done
echo "=== all size arms done $(date -u +%H:%M:%S)"
