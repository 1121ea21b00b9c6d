#!/usr/bin/env bash
# Idempotent set-up: Debian packages, a venv on QGIS's Python, pinned pip packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-psycopg2 python3-jinja2
  python3-venv cgi-mapserver mapserver-bin postgresql-15 postgresql-15-postgis-3 lighttpd
  qttools5-dev-tools zip xvfb chromium nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# QGIS's Python is /usr/bin/python3, whatever python3 comes first on PATH.
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
# OpenLayers for the browser test (tests/test_browser.py), pinned in tests/web/package-lock.json.
if [ ! -f tests/web/node_modules/ol/dist/ol.js ]; then
  npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
fi
