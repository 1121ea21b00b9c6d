#!/usr/bin/env bash
# Lint, then the whole suite. The suite starts its own service stack in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export QT_QPA_PLATFORM=offscreen
# A throwaway QGIS profile: the tests write LS4 settings, connections and auth configurations.
profile=$(mktemp -d -t ls4-qgis-profile-XXXX)
trap 'rm -rf "$profile"' EXIT
export XDG_DATA_HOME="$profile/data" XDG_CONFIG_HOME="$profile/config"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
