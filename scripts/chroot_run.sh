#!/usr/bin/env bash
# Run one command inside a chroot:
#   scripts/chroot_run.sh DIR [--bind SRC[:DEST]] [--ro SRC[:DEST]] [--env NAME=VALUE]
#                             [--cwd PATH] -- COMMAND...
# /proc, a fresh /dev/shm and the bind mounts (DEST defaults to SRC: the same path inside) exist
# only in a private mount namespace made for this run, so they vanish with it, whatever happens;
# they are also unmounted on exit. The command runs with only the --env variables (plus PATH,
# HOME, LANG). Processes of this run still alive in the chroot at the end are ended.
set -euo pipefail

if [ -z "${LS4_CHROOT_NAMESPACE:-}" ]; then
  # --kill-child: if this script is killed, the namespace's process gets SIGKILL too.
  exec unshare --mount --propagation private --fork --kill-child \
    env LS4_CHROOT_NAMESPACE=1 bash "$0" "$@"
fi

dir=$(realpath "$1")
shift
binds=() modes=() envs=() cwd=/
while [ $# -gt 0 ]; do
  case $1 in
    --bind) binds+=("$2") modes+=(rw); shift 2 ;;
    --ro) binds+=("$2") modes+=(ro); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "chroot_run: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$dir/bin/sh" ] || { echo "chroot_run: $dir is not a chroot" >&2; exit 2; }

mounted=()
cleanup() {
  local status=$? pid mine
  mine=$(readlink /proc/$$/ns/mnt)
  # What this run started in the chroot (same chroot, same mount namespace) and left running.
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = $$ ] && continue
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$dir" ] &&
      [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$mine" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_at() {  # mount ARGS... TARGET
  local target=${*: -1}
  mkdir -p "$target"
  mount "$@"
  mounted+=("$target")
}

mount_at -t proc proc "$dir/proc"
mount_at -t tmpfs -o mode=1777,size=1g shm "$dir/dev/shm"
for i in "${!binds[@]}"; do
  src=${binds[i]%%:*}
  dest=${binds[i]#*:}
  src=$(realpath "$src")
  if [ -d "$src" ]; then
    mount_at --bind "$src" "$dir$dest"
  else
    mkdir -p "$(dirname "$dir$dest")"
    [ -e "$dir$dest" ] || : > "$dir$dest"
    mount --bind "$src" "$dir$dest"
    mounted+=("$dir$dest")
  fi
  if [ "${modes[i]}" = ro ]; then
    mount -o remount,bind,ro "$dir$dest"
  fi
done

path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
chroot "$dir" /usr/bin/env -i PATH="$path" HOME=/root LANG=C.UTF-8 "${envs[@]}" \
  /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$cwd" "$@"
