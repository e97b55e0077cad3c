#!/usr/bin/env bash
# Device check for every algorithm and family on CUDA (run by hand on a GPU machine): a short
# CLI training run each, then evaluate on the GPU. Prints one summary line per run.
set -uo pipefail
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
for a in leo leo-fo reptile meta-sgd imaml leo-latent pretrained random; do
  out=/tmp/gpu-$a
  "$PY" -m leo_core train --algorithm "$a" --device cuda --iterations 200 --k 2 --out "$out" --quiet \
    && "$PY" -m leo_core evaluate "$out" --device cuda --tasks 200 --steps 5 --json \
       | "$PY" -c "import json,sys; d=json.load(sys.stdin); print('$a', 'sinusoid', [round(v,3) for v in d['loss_by_step']])" \
    || echo "$a FAILED"
done
for f in points2d digits; do
  out=/tmp/gpu-$f
  "$PY" -m leo_core train --family "$f" --alpha 0.4 --k 2 --ways 5 --shots 1 --device cuda --iterations 200 --out "$out" --quiet \
    && "$PY" -m leo_core evaluate "$out" --device cuda --tasks 200 --steps 5 --json \
       | "$PY" -c "import json,sys; d=json.load(sys.stdin); print('$f', [round(v,3) for v in d['accuracy_by_step']])" \
    || echo "$f FAILED"
done
