#!/usr/bin/env bash
# The device check for a CUDA machine, run by hand (one short script; see README "GPU").
# Runs the suite's device tests on the GPU, then the throughput benchmark at meta-batch 25/100/1000, then
# Omniglot's conv net against learn2learn and its time to 97%.
set -uo pipefail
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/gpu.txt"
# --noconftest: the device tests need no fixture, and conftest.py imports Streamlit (a GPU image may lack it)
"$PY" -m pytest -q -p no:cacheprovider --noconftest tests/test_device.py tests/test_inner.py tests/test_train.py \
    tests/test_linear_closed_form.py tests/test_cuda_graph.py tests/test_analytic.py 2>&1 | tee "$OUT/tests.txt" | tail -5
"$PY" -m pytest -q -p no:cacheprovider --noconftest tests/test_omniglot.py -m "not slow or cuda" 2>&1 \
    | tee "$OUT/tests_omniglot.txt" | tail -3
# eager vs one captured CUDA graph per meta-iteration (goal: >= 1,000 it/s at meta-batch 1,000, k = 1)
"$PY" bench/throughput.py --device cuda --meta-batch 25 100 1000 --k 1 --impls core core-graph --seconds 2 2>&1 \
    | tee "$OUT/throughput_cuda_graph.txt"
"$PY" bench/throughput.py --device cuda --meta-batch 25 100 1000 --k 5 --impls core core-graph loop --seconds 2 2>&1 \
    | tee "$OUT/throughput_cuda.txt"
"$PY" bench/throughput.py --device cpu --meta-batch 25 --k 1 --seconds 2 2>&1 | tee "$OUT/throughput_cpu.txt"
"$PY" -m leo_core train --device cuda --iterations 3000 --out /tmp/gpu-run --quiet && \
    "$PY" -m leo_core evaluate /tmp/gpu-run --device cuda --json | tee "$OUT/eval.json"
# Omniglot's conv net: batched core (eager, CUDA graph) vs learn2learn's MAML at meta-batch 32, 5-way 1-shot, k = 1
# (goal >= 3x), then minutes to 97% held-out accuracy (goal <= 15 on one H100). Needs bench/setup_peers.sh first.
"$PY" bench/omniglot.py --device cuda --meta-batch 32 --impls core core-graph learn2learn --seconds 5 \
    --time-to 0.97 --eval-every 500 --limit-min 20 2>&1 | tee "$OUT/omniglot.txt"
