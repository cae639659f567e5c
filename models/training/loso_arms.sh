#!/usr/bin/env bash
# Leave-one-source-out arms of one TB-reader method: for each source holding both TB and not-TB images, a reader
# trained without it (nor its images in threshold choice or selection), evaluated on all of it.
#   models/training/loso_arms.sh NAME STEPS [train_reader options...]
# writes runs/<NAME>_<source>/ (final.pt, eval.json, train_log.jsonl, command.txt). The lung fields of each arm come
# from a network that never saw the held-out source either:
#   shenzhen            seg_loso_shenzhen (lungs only, trained on the other sources' images with the lung labels of
#                       single_seg_1207, which learnt them from Shenzhen's drawn masks; it never saw a Shenzhen image)
#   tbx11k_extra_da_db  single_seg_1207 (lungs only, trained on Shenzhen's drawn masks)
# Environment: CXR_THREADS (default 2), CXR_RUNS_DIR (default models/training/runs), CXR_ARMS (default both).
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=$1; STEPS=$2; shift 2
RUNS=${CXR_RUNS_DIR:-models/training/runs}
ARMS=${CXR_ARMS:-"shenzhen tbx11k_extra_da_db"}
export CXR_THREADS=${CXR_THREADS:-2}
for src in $ARMS; do
  case $src in
    shenzhen) lungs=$RUNS/seg_loso_shenzhen/final.pt ;;
    tbx11k_extra_da_db) lungs=$RUNS/single_seg_1207/final.pt ;;
    *) echo "no lung network without $src is defined" >&2; exit 2 ;;
  esac
  run=${NAME}_${src}
  if [ -f "$RUNS/$run/eval.json" ]; then echo "== $run: done, skipped"; continue; fi
  mkdir -p "$RUNS/$run"
  cmd=(/usr/bin/python3 -m models.training.train_reader --run "$run" --runs-dir "$RUNS" --lungs "$lungs"
       --hold-out-source "$src" --steps "$STEPS" --resume "$@")
  echo "${cmd[*]}" > "$RUNS/$run/command.txt"
  echo "== $run"
  "${cmd[@]}"
done
