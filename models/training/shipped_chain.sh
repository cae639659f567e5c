#!/usr/bin/env bash
# Reproduces the shipped cxr-tb-v1 model from scratch, then exports and packs it (`npm run train`):
#   main_inverse  1500 steps, sampler p ∝ 1/size, lr 2e-3, seed 1234             (≈ 44 min on 1 thread)
#   ft_uniform    +1000 steps from main_inverse, uniform 1/3 each, lr 1e-3, seed 4321 (≈ 24 min)
#   ft_cls        +3000 steps from ft_uniform, cls 0.6 / det 0.25 / seg 0.15, 40 % of the classification
#                 draws from the sources with both TB and not-TB, lr 1e-3, seed 777   (≈ 70 min)
#   ft_cls2       +1500 steps from ft_cls, same weights, 60 % of the classification draws from those sources,
#                 lr 5e-4, seed 99                                                   (≈ 36 min)
# then the export with the lung-pooled `embedding` output (1.2.1), the card's transfer section (from the
# leave-one-source-out arms and measurements in runs/, see loso_arms.sh and card_transfer.sh) and the pack.
# The lung-only TB reader (run rl_acq_ship) is not part of the shipped pack: see the card's transfer section.
# Each stage resumes from its ckpt_last.pt, and a stage whose final.pt exists is skipped, so the chain may be
# stopped and restarted across sessions. Run from anywhere; environment: CXR_THREADS (default 1),
# CXR_DATA_ROOT (default ../shared/datasets beside the repository), CXR_RUNS_DIR (default models/training/runs),
# CXR_PACK_DIR (default models/packs/cxr-tb-v1; set it elsewhere to keep the committed pack).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
DATA=${CXR_DATA_ROOT:-$(cd .. && pwd)/shared/datasets}
RUNS=${CXR_RUNS_DIR:-models/training/runs}
PACK=${CXR_PACK_DIR:-models/packs/cxr-tb-v1}
export CXR_THREADS=${CXR_THREADS:-1}

stage() { # name, then the trainer's arguments
  local run=$1; shift
  if [ -f "$RUNS/$run/final.pt" ]; then echo "== $run: $RUNS/$run/final.pt exists, skipped"; return; fi
  echo "== $run"
  $PY -m models.training.train --run "$run" --runs-dir "$RUNS" --data-root "$DATA" --resume \
      --batch-size 16 --size 256 --ckpt-every 100 --log-every 25 "$@"
}
stage main_inverse --sampler inverse --steps 1500 --lr 2e-3 --warmup 100 --seed 1234
stage ft_uniform --init "$RUNS/main_inverse/final.pt" --sampler uniform --steps 1000 --lr 1e-3 --warmup 50 --seed 4321
stage ft_cls --init "$RUNS/ft_uniform/final.pt" --sampler weights:cls=0.6,det=0.25,seg=0.15 \
    --mixed-source-mass 0.4 --steps 3000 --lr 1e-3 --warmup 50 --seed 777
stage ft_cls2 --init "$RUNS/ft_cls/final.pt" --sampler weights:cls=0.6,det=0.25,seg=0.15 \
    --mixed-source-mass 0.6 --steps 1500 --lr 5e-4 --warmup 50 --seed 99
mkdir -p "$PACK"
$PY -m models.training.export --ckpt "$RUNS/ft_cls2/final.pt" --embedding --out "$PACK/model.onnx" \
    --parity-dir /tmp/cxr-tb-v1-parity --parity-commit-dir "$PACK/parity"
models/training/card_transfer.sh "$RUNS" /tmp/cxr-card-transfer.md
$PY -m models.training.pack --run-dir "$RUNS/ft_cls2" --pack-dir "$PACK" --data-root "$DATA" --version 1.2.1 \
    --card-extra /tmp/cxr-card-transfer.md --card-extra models/training/card_sections.md \
    --compare-runs $(for r in main_inverse single_cls_98 single_det_195 single_seg_1207 cmp_proportional single_cls_981 \
                              single_det_441 single_seg_78 ft_uniform single_det_441_s192 single_seg_78_s192 ft_cls \
                              ft_cls_b soup_ft_cls_ft_cls_b ft_cls2 ft_cls3 ft_flip ft_s320 soup_ft_cls2_cls3_flip; do
                       echo "$RUNS/$r"; done)
