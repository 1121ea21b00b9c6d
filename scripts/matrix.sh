#!/usr/bin/env bash
# Run pytest on one leg of the QGIS matrix (scripts/matrix_lib.sh):
#   scripts/matrix.sh --leg host|3.40|3.44 [--bind DIR]... [pytest arguments]
#   scripts/matrix.sh --leg 3.40 --versions        # prints "QGIS ..., GDAL ..., Python ..."
# A chroot leg sees this clone, the sample data (LS4_SAMPLE_DATA, read-only) and LS4_STACK_DIR at
# the same paths as the host, so a stack started on the host (`python -m tools.stack up --dir D`,
# then LS4_STACK_DIR=D) is reused; the chroot shares the host's loopback network. Every leg gets a
# fresh QGIS profile (.qgis-settings) and, in a chroot, a fresh /tmp, both gone afterwards.
# Run `bash scripts/setup.sh` first (make setup); it builds the chroots once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/matrix_lib.sh

leg="" versions=false binds=()
while [ $# -gt 0 ]; do
  case $1 in
    --leg) leg=$2; shift 2 ;;
    --versions) versions=true; shift ;;
    --bind) binds+=("$2"); shift 2 ;;
    *) break ;;
  esac
done
[ -n "$leg" ] || { echo "usage: scripts/matrix.sh --leg host|3.40|3.44 [pytest args]" >&2; exit 2; }

VERSIONS='from qgis.core import Qgis; from osgeo import gdal; import platform
print(f"QGIS {Qgis.QGIS_VERSION}, GDAL {gdal.__version__}, Python {platform.python_version()}")'

repo=$(pwd -P)
data=$(realpath -m "${LS4_SAMPLE_DATA:-$repo/../shared/data}")
export LS4_SAMPLE_DATA=$data QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1

if ! is_chroot_leg "$leg"; then
  if $versions; then exec .venv/bin/python -c "$VERSIONS"; fi
  # pytest-qgis keeps the profile in .qgis-settings: a fresh one per run, in a private mount
  # namespace, so a run never sees (nor spoils) another's LS4 settings and auth database.
  mkdir -p .qgis-settings
  exec unshare --mount --propagation private sh -c '
    profile=$(mktemp -d) && mount --bind "$profile" .qgis-settings || exit 2
    .venv/bin/python -m pytest -p no:cacheprovider "$@"; status=$?
    umount .qgis-settings; rm -rf "$profile"; exit $status' sh "$@"
fi

dir=$(leg_dir "$leg")
if [ ! -x "$dir$CHROOT_VENV/bin/python" ]; then
  echo "matrix: the $leg chroot is not set up ($dir): run bash scripts/setup.sh" >&2
  exit 2
fi
if $versions; then
  exec bash scripts/chroot_run.sh "$dir" -- "$CHROOT_VENV/bin/python" -c "$VERSIONS"
fi

# The tests' temporary files (TMPDIR) are at the same path inside and outside: the host's services
# (MapServer) read what a test in the chroot writes there. The chroot's own /tmp is fresh.
scratch=$(mktemp -d /tmp/ls4-leg.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/tmp" "$scratch/chroot-tmp" "$scratch/profile" .qgis-settings
chmod 755 "$scratch"
chmod 1777 "$scratch/tmp" "$scratch/chroot-tmp"
mounts=(--bind "$repo" --bind "$scratch/profile:$repo/.qgis-settings")
[ -d "$data" ] && mounts+=(--ro "$data")  # else the tests say the sample data is missing
mounts+=(--bind "$scratch/chroot-tmp:/tmp" --bind "$scratch/tmp")
# a worktree's .git names the main repository's: git inside needs that one too
if [ -f .git ]; then
  common=$(git rev-parse --git-common-dir)
  mounts+=(--ro "$(realpath "$common")")
fi
for extra in ${LS4_STACK_DIR:+"$LS4_STACK_DIR"} ${binds[@]+"${binds[@]}"}; do
  mounts+=(--bind "$(realpath "$extra")")
done
envs=(--env "PATH=$CHROOT_VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin" --env "TMPDIR=$scratch/tmp")
# The build of the ZIP (pip install --target) finds the same wheels as setup, without an index.
mounts+=(--ro "$LS4_CACHE/wheels/$(cat "$dir/.ls4-wheels"):$CHROOT_WHEELS")
envs+=(--env PIP_NO_INDEX=1 --env "PIP_FIND_LINKS=$CHROOT_WHEELS")
while IFS= read -r name; do
  envs+=(--env "$name=${!name}")
done < <(compgen -e | grep -E '^(LS4_|PYTEST_|QT_QPA_PLATFORM$|PYTHONDONTWRITEBYTECODE$|CI$|TZ$)')

status=0
bash scripts/chroot_run.sh "$dir" "${mounts[@]}" "${envs[@]}" --cwd "$repo" -- \
  "$CHROOT_VENV/bin/python" -m pytest -p no:cacheprovider "$@" || status=$?
exit $status
