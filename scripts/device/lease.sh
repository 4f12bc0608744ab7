#!/bin/bash
# Runs ON the lent GPU machine, from the repository root, with .dev carried (scripts/device/pack.py made it):
# installs the carried wheels, runs the GPU check on two tasks, then trains .dev/job.json in the time left.
# Everything it reports lands in $OUT (at most 8 files come back). END_S: seconds until all is in $OUT.
export T0=$(date +%s) NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1 IMG2IMG_CACHE_DIR=/tmp/i2icache
export END_S=${END_S:-565} OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl \
    > "$OUT/check.log" 2>&1 || { echo "pip install failed"; cat "$OUT/check.log"; exit 3; }
export PYTHONPATH=/tmp/site:$PWD/.dev/site
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; echo "cpus $(nproc)";
  python3 -c "import torch, kornia, albumentations as A; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'kornia', kornia.__version__, 'albumentations', A.__version__)"; } >> "$OUT/check.log" 2>&1
timeout -k 5 "${CHECK_S:-200}" python3 benchmarks/gpu_check.py --out /tmp/gpu-check --steps "${CHECK_STEPS:-100}" \
    --tasks "${CHECK_TASKS:-uncrop,sketch2photo}" >> "$OUT/check.log" 2>&1
echo "gpu_check exit $? after $(( $(date +%s) - T0 )) s" >> "$OUT/check.log"
cp /tmp/gpu-check/table.md "$OUT/check-table.md" 2>/dev/null
cat "$OUT/check-table.md" 2>/dev/null
python3 scripts/device/train_timed.py
cat "$OUT/train.out"
