#!/usr/bin/env bash
# Idempotent set-up of every leg of the test matrix (scripts/matrix_lib.sh):
# - host: Debian packages, a venv on QGIS's Python, the pinned pip packages;
# - 3.40 / 3.44: a Debian 13 chroot each in LS4_CACHE (debootstrap, then apt for QGIS, GDAL and the
#   services of scripts/chroot-packages.txt), and a venv in it with the pinned pip packages, from
#   cp313 wheels that the host's pip downloads (pip inside a chroot cannot reach the index).
# Stamps make an unchanged leg a no-op. LS4_LEGS=host sets up the host only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/matrix_lib.sh

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
mkdir -p "$LOGS" 2>/dev/null || $SUDO mkdir -p "$LOGS"

want_chroots=false
for leg in $LS4_LEGS; do is_chroot_leg "$leg" && want_chroots=true; done

# --- host ----------------------------------------------------------------------------------------
APT_PACKAGES=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-psycopg2 python3-jinja2
  python3-venv cgi-mapserver mapserver-bin postgresql postgresql-postgis lighttpd
  qttools5-dev-tools zip xvfb chromium nodejs npm)
$want_chroots && APT_PACKAGES+=(debootstrap)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  # node and npm may come from elsewhere (NodeSource's nodejs carries npm and conflicts with Debian's)
  case $p in nodejs | npm) command -v "${p/nodejs/node}" >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  log=$LOGS/setup-host-apt.log
  {
    $SUDO apt-get "${APT_OPTIONS[@]}" update &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT_OPTIONS[@]}" install \
        --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1 || fail_with_log "apt-get install on the host" "$log"
fi

# QGIS's Python is /usr/bin/python3, whatever python3 comes first on PATH.
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" >"$stamp"
fi
# OpenLayers for the browser test (tests/test_browser.py), pinned in tests/web/package-lock.json.
if [ ! -f tests/web/node_modules/ol/dist/ol.js ]; then
  npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
fi

$want_chroots || exit 0

# --- chroots -------------------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: the chroot legs need root (debootstrap, chroot, mounts); LS4_LEGS=host skips them" >&2
  exit 1
fi
mkdir -p "$CHROOTS" "$APT_ARCHIVES/partial"
# One setup at a time per cache (two `make test` at once, or two helpers).
exec 9>"$LS4_CACHE/setup.lock"
flock 9

base=$CHROOTS/base-trixie
if [ ! -f "$base/.ls4-base" ]; then
  echo "setup: debootstrap Debian 13 (trixie) into $base"
  rm -rf "$base" "$base.partial"
  log=$LOGS/debootstrap.log
  debootstrap --variant=minbase trixie "$base.partial" "$DEBIAN_MIRROR" >"$log" 2>&1 ||
    fail_with_log "debootstrap" "$log"
  touch "$base.partial/.ls4-base"
  mv "$base.partial" "$base"
fi

apt_in_leg() {  # LEG: the leg's Debian packages, from its suites, with its QGIS
  local leg=$1 dir log suites preferences want
  dir=$(leg_dir "$leg")
  suites=$(leg_suites "$leg")
  preferences=$(leg_apt_preferences "$leg")
  want=$( (echo "$suites" "$preferences" "$DEBIAN_MIRROR"; chroot_packages) | sha256sum | cut -d' ' -f1)
  [ "$(cat "$dir/.ls4-apt" 2>/dev/null)" = "$want" ] && return 0
  if [ ! -d "$dir" ]; then
    rm -rf "$dir.partial"
    cp -a "$base" "$dir.partial"
    mv "$dir.partial" "$dir"
  fi
  echo "setup: apt in the $leg chroot ($dir)"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$DEBIAN_MIRROR" "$suites" \
    >"$dir/etc/apt/sources.list.d/debian.sources"
  rm -f "$dir/etc/apt/sources.list"
  printf '%s' "$preferences" >"$dir/etc/apt/preferences.d/ls4-qgis"
  # No service starts at install time; no default cluster (the tests initdb their own).
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  mkdir -p "$dir/etc/postgresql-common"
  echo "create_main_cluster = false" >"$dir/etc/postgresql-common/createcluster.conf"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  cp /etc/hosts "$dir/etc/hosts"
  log=$LOGS/setup-$leg-apt.log
  mapfile -t packages < <(chroot_packages)
  in_chroot "$leg" --bind "$APT_ARCHIVES:/var/cache/apt/archives" \
    --env DEBIAN_FRONTEND=noninteractive --env "LS4_PACKAGES=${packages[*]}" -- sh -c '
      apt-get "$@" update && apt-get "$@" install --no-install-recommends $LS4_PACKAGES' \
    sh "${APT_OPTIONS[@]}" >"$log" 2>&1 </dev/null ||
    fail_with_log "apt-get install in the $leg chroot" "$log"
  local qgis
  qgis=$(chroot "$dir" dpkg-query -W -f='${Version}' qgis)
  case $qgis in
    "$leg".*) ;;
    *) echo "setup: the $leg chroot got QGIS $qgis" >&2; exit 1 ;;
  esac
  echo "$want" >"$dir/.ls4-apt"
}

wheels_for() {  # PYTHON_TAG (cp313): the wheels of every requirements*.txt, from the host's pip
  local tag=$1 folder version want log platforms=()
  folder=$LS4_CACHE/wheels/$tag
  version=${tag#cp}
  version=${version:0:1}.${version:1}
  want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  [ -f "$folder/.ls4-$want" ] && return 0
  echo "setup: downloading the $tag wheels of $(requirement_files | xargs)" >&2
  mkdir -p "$folder"
  # Debian 13 has glibc 2.41: any manylinux wheel up to that runs there.
  for p in manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_27 manylinux_2_28 \
    manylinux_2_31 manylinux_2_34 manylinux_2_35 manylinux_2_38 manylinux_2_39 manylinux_2_41; do
    platforms+=(--platform "${p}_x86_64")
  done
  log=$LOGS/setup-wheels-$tag.log
  : >"$log"
  local file tries missing built
  for file in $(requirement_files); do
    for tries in 1 2 3 4 5 6 7 8 9 10; do
      if .venv/bin/pip download --disable-pip-version-check --dest "$folder" --find-links "$folder" \
        --only-binary=:all: --python-version "$version" --implementation cp --abi "$tag" \
        "${platforms[@]}" -r "$file" >>"$log" 2>&1; then
        continue 2
      fi
      # A package published as a source distribution only: the host's pip builds its wheel, which
      # must be pure Python (py3-none-any) to serve the chroot's Python too.
      missing=$(sed -n 's/^ERROR: No matching distribution found for //p' "$log" | tail -1)
      [ -n "$missing" ] || break
      echo "setup: building a wheel of $missing (no wheel on the index)" >&2
      built=$(mktemp -d)
      .venv/bin/pip wheel --disable-pip-version-check --no-deps -w "$built" "$missing" >>"$log" 2>&1 ||
        fail_with_log "pip wheel $missing" "$log"
      if ls "$built" | grep -qv -- '-none-any\.whl$'; then
        echo "setup: $missing builds a compiled wheel ($(ls "$built")); pin a version with wheels" >>"$log"
        fail_with_log "wheel of $missing for $tag" "$log"
      fi
      mv "$built"/*.whl "$folder/"
      rm -rf "$built"
    done
    fail_with_log "pip download ($tag wheels of $file)" "$log"
  done
  rm -f "$folder"/.ls4-*
  touch "$folder/.ls4-$want"
}

venv_in_leg() {  # LEG: a venv on the chroot's Python with every pinned package, no index
  local leg=$1 dir tag want log
  dir=$(leg_dir "$leg")
  tag=$(chroot "$dir" /usr/bin/python3 -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  wheels_for "$tag"
  echo "$tag" >"$dir/.ls4-wheels"
  want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  [ "$(cat "$dir$CHROOT_VENV/.requirements.sha" 2>/dev/null)" = "$want" ] && return 0
  echo "setup: venv in the $leg chroot ($dir$CHROOT_VENV)"
  rm -rf "$dir/tmp/ls4-requirements"
  mkdir -p "$dir/tmp/ls4-requirements"
  cp requirements*.txt "$dir/tmp/ls4-requirements/"
  log=$LOGS/setup-$leg-venv.log
  in_chroot "$leg" --ro "$LS4_CACHE/wheels/$tag:$CHROOT_WHEELS" --cwd /tmp/ls4-requirements -- \
    sh -c '[ -x "$0/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$0"
      "$0/bin/pip" install --disable-pip-version-check --no-index --find-links "$1" \
        -r requirements-dev.txt' "$CHROOT_VENV" "$CHROOT_WHEELS" >"$log" 2>&1 ||
    fail_with_log "pip install in the $leg chroot" "$log"
  rm -rf "$dir/tmp/ls4-requirements"
  echo "$want" >"$dir$CHROOT_VENV/.requirements.sha"
}

for leg in $LS4_LEGS; do
  is_chroot_leg "$leg" || continue
  apt_in_leg "$leg"
  venv_in_leg "$leg"
done
