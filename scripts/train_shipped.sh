#!/usr/bin/env bash
# Train (or resume) the shipped models the way they were made, stage after stage, e.g.
#   scripts/train_shipped.sh sketch2photo-cgan uncrop-regression
# Runs live in $RUNS (default ../runs, outside the repository); see scripts/train_shipped.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec .venv/bin/python scripts/train_shipped.py "$@"
