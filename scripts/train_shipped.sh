#!/usr/bin/env bash
# Train (or resume) the shipped models one after another, e.g.
#   scripts/train_shipped.sh sketch2photo-cgan uncrop-regression
# Each run lives in $RUNS/NAME (default ../runs, outside the repository) and resumes from its newest
# checkpoint, so the same command continues after a crash or on another day. One thread per process:
# on a busy 2-core machine, two OpenMP threads per process were up to 6x slower than one.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-../runs}
export NO_ALBUMENTATIONS_UPDATE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for name in "$@"; do
  .venv/bin/img2img train --config "weights/configs/$name.json" --out "$RUNS/$name" --resume --quiet
done
