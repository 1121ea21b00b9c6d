#!/usr/bin/env bash
# Lint and type-check, then the whole suite. The suite starts its own service stack in a
# temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy  # the core, as configured in pyproject.toml
export QT_QPA_PLATFORM=offscreen
# pytest-qgis keeps the QGIS profile in .qgis-settings; the tests write LS4 settings, connections
# and auth configurations there: start each run from a clean one.
rm -rf .qgis-settings
.venv/bin/python -m pytest -p no:cacheprovider "$@"
