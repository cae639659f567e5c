#!/usr/bin/env bash
# Single-task arms of the sampler comparison: the same CXRNet trained on one task only, for as many
# steps as that task received inside a joint 1500-step run (counts from the joint runs' train_log.jsonl):
#   main_inverse      (p ~ 1/size): cls 98, det 195, seg 1207
#   cmp_proportional  (p ~ size)  : cls 981, det 441, seg 78
# Same seed, batch, lr, augmentation; warmup scaled with the run length (100 * steps / 1500) so the
# schedule has the joint run's shape; only the task's own loss (--no-cross-task-labels).
# Sequential, resumable (--resume), one thread; run from the repository root:
#   nice -n 19 models/training/single_task_arms.sh > models/training/runs/single_arms.out 2>&1 &
set -euo pipefail
PY=/usr/bin/python3
export CXR_THREADS=${CXR_THREADS:-1}
ARMS=${ARMS:-"seg:78 cls:98 det:195 det:441 cls:981 seg:1207"}
for arm in $ARMS; do
  task=${arm%%:*}; steps=${arm##*:}
  run=single_${task}_${steps}
  if [ -f models/training/runs/$run/eval.json ]; then echo "skip $run (done)"; continue; fi
  warm=$(( (100 * steps + 750) / 1500 ))
  echo "=== $run (warmup $warm) $(date -u +%H:%M:%S)"
  $PY -m models.training.train --run "$run" --sampler "single:$task" --steps "$steps" \
      --warmup "$warm" --no-cross-task-labels --ckpt-every 100 --resume
done
echo "=== all arms done $(date -u +%H:%M:%S)"
