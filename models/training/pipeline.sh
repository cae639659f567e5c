#!/usr/bin/env bash
# Train -> export -> pack for cxr-tb-v1. Run from the repository root:
#   models/training/pipeline.sh RUN-NAME SAMPLER STEPS VERSION   (VERSION: the pack's, new for new weights)
# Environment: CXR_THREADS (default 1), CXR_DATA_ROOT (default ../shared/datasets)
set -euo pipefail
RUN=${1:-main_inverse}
SAMPLER=${2:-inverse}
STEPS=${3:-1500}
VERSION=${4:?usage: pipeline.sh RUN SAMPLER STEPS VERSION (the pack version; new weights need a new one)}
PY=/usr/bin/python3
DATA=${CXR_DATA_ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/datasets}
export CXR_THREADS=${CXR_THREADS:-1}
RUNDIR=models/training/runs/$RUN
PACK=models/packs/cxr-tb-v1
$PY -m models.training.train --run "$RUN" --sampler "$SAMPLER" --steps "$STEPS" --data-root "$DATA" --resume
$PY -m models.training.export --ckpt "$RUNDIR/final.pt" --out "$PACK/model.onnx" \
    --parity-dir /tmp/cxr-tb-v1-parity --parity-commit-dir "$PACK/parity"
$PY -m models.training.pack --run-dir "$RUNDIR" --pack-dir "$PACK" --data-root "$DATA" --version "$VERSION"
