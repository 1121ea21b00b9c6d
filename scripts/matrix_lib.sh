# The QGIS legs of the test matrix and their Debian 13 chroots; sourced by scripts/setup.sh,
# scripts/matrix.sh and scripts/test.sh (bash, from the repository root).
#
# Legs: `host` (the host's own QGIS, the repository's .venv), `3.40` (Debian 13 trixie, QGIS 3.40
# LTR) and `3.44` (trixie with the QGIS packages of trixie-backports). LS4_LEGS picks some of them.
# The chroots and the wheel cache live outside the clone (LS4_CACHE, default /var/cache/ls4), so a
# new clone or a rerun reuses them; stamps make an unchanged leg a no-op.

LS4_CACHE=${LS4_CACHE:-/var/cache/ls4}
LS4_LEGS=${LS4_LEGS:-host 3.40 3.44}
CHROOTS=$LS4_CACHE/chroots
LOGS=$LS4_CACHE/logs
APT_ARCHIVES=$LS4_CACHE/apt-archives
DEBIAN_MIRROR=${LS4_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CHROOT_PACKAGES=scripts/chroot-packages.txt
CHROOT_VENV=/opt/ls4-venv
CHROOT_WHEELS=/mnt/ls4-wheels
# apt waits for a dpkg lock another apt holds instead of failing at once.
APT_OPTIONS=(-o DPkg::Lock::Timeout=600 -o APT::Get::Assume-Yes=true -q)

is_chroot_leg() {
  case $1 in
    3.40 | 3.44) return 0 ;;
    host) return 1 ;;
    *) echo "matrix: unknown leg '$1' (legs: host 3.40 3.44)" >&2; exit 2 ;;
  esac
}

leg_dir() { echo "$CHROOTS/trixie-$1"; }

# The Debian suites of a leg and the apt preferences that choose its QGIS.
leg_suites() {
  case $1 in
    3.40) echo "trixie trixie-updates" ;;
    3.44) echo "trixie trixie-updates trixie-backports" ;;
  esac
}

leg_apt_preferences() {
  if [ "$1" = 3.44 ]; then
    printf 'Package: qgis qgis-* python3-qgis python3-qgis-* libqgis*\n'
    printf 'Pin: release n=trixie-backports\nPin-Priority: 990\n'
  fi
}

# The packages of chroot-packages.txt, comments and blank lines left out.
chroot_packages() { sed -e 's/#.*//' "$CHROOT_PACKAGES" | tr -s ' \t' '\n' | grep -v '^$'; }

# Every requirements*.txt of the repository (a new file or a new pinned line just works).
requirement_files() { ls requirements*.txt; }

# Run a command inside a leg's chroot: scripts/chroot_run.sh mounts what it needs in a private
# mount namespace (nothing stays mounted, whatever happens) and ends what the command left running.
in_chroot() {
  local leg=$1
  shift
  bash scripts/chroot_run.sh "$(leg_dir "$leg")" "$@"
}

# Fail with the log's tail and its name.
fail_with_log() {
  local what=$1 log=$2
  echo "setup: $what failed; full log: $log" >&2
  tail -n 25 "$log" >&2 || true
  exit 1
}
