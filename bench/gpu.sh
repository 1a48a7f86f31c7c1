#!/usr/bin/env bash
# The GPU figures in one run of at most 8 minutes: CLIP encoding, batched counterfactuals and GNN
# training on the GPU against this machine's CPU, DDP over NCCL when there are two GPUs.
# Writes OUT/gpu.json (default: bench/results/gpu). Usage: bench/gpu.sh [OUT]
# MMREASON_GPU_DRY_RUN=1 runs the same code on the CPU at small sizes (a check without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench/results/gpu}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=python
[ -x .venv/bin/python ] && PY=.venv/bin/python
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count())"
timeout 480 "$PY" -m bench gpu --device cuda --out "$OUT"
