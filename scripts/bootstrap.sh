#!/usr/bin/env bash
# Create .venv and install the suite with its test and benchmark extras.
# torch 2.13.0 goes in first: it is the CPU build that lies on this kind of machine, and the
# project's own range (torch>=2.2) is then already satisfied, so pip pulls no CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test,bench]"
