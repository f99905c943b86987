#!/usr/bin/env bash
# Build the HTML documentation with warnings as errors: the API reference from the numpydoc
# docstrings, the Markdown guide (myst-parser) and the gallery, whose examples are executed.
# Needs the `docs` extra (pip install -e ".[docs]"). Output: docs/_build/html/index.html.
# --quick skips running the gallery's examples (their pages are then built without output).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
extra=()
if [ "${1:-}" = "--quick" ]; then
    extra=(-D plot_gallery=0)
fi
rm -rf docs/_build docs/auto_examples
"$PY" -m sphinx -W --keep-going -q -b html "${extra[@]}" docs docs/_build/html
echo "docs: docs/_build/html/index.html"
