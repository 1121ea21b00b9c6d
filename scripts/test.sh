#!/usr/bin/env bash
# Lint and type-check once, then the whole suite on every leg of the QGIS matrix (LS4_LEGS, default: the host's
# QGIS, 3.40 LTR and 3.44 in Debian 13 chroots; see scripts/matrix_lib.sh). The legs run at once,
# each with its own service stack on the host. One line per QGIS, then a total; fails if any leg
# fails. Arguments go to every pytest run (e.g. tests/test_keys.py -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/matrix_lib.sh

if [ -z "${LS4_TEST_NAMESPACE:-}" ]; then
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/python -m mypy  # the core, as configured in pyproject.toml
  # Everything below runs in a PID and mount namespace of its own: whatever fails or is killed,
  # no process (service, QGIS, test) and no mount outlives the run.
  exec unshare --pid --mount --propagation private --fork --kill-child --mount-proc \
    env LS4_TEST_NAMESPACE=1 bash "$0" "$@"
fi

run=$(mktemp -d /tmp/ls4-test.XXXXXX)
chmod 755 "$run"
stop() {
  local status=$? dir
  for dir in "$run"/stack-*; do
    [ -d "$dir" ] || continue
    .venv/bin/python -m tools.stack down --dir "$dir" --purge >"$dir.down.log" 2>&1 ||
      cat "$dir.down.log" >&2
  done
  rm -rf "$run"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One leg on a service stack of its own (PostGIS, SeaweedFS S3, MapServer, tiles, STAC API on the
# host; a chroot shares the loopback network), so legs run at once without seeing each other's
# collections. Writes the leg's counts to $run/<leg>.counts and its line to $run/<leg>.line, and
# exits non-zero if the leg fails.
run_leg() {
  local leg=$1 versions start seconds line status=0 passed failed skipped
  versions=$(bash scripts/matrix.sh --leg "$leg" --versions 2>&1) || versions="(versions unknown: $versions)"
  echo "=== leg $leg: $versions"
  start=$SECONDS
  if [ "${LS4_STACK:-}" = none ]; then
    :  # make unit: no test that needs a service runs
  elif ! .venv/bin/python -m tools.stack up --dir "$run/stack-$leg" >"$run/stack-$leg.up.log" 2>&1; then
    cat "$run/stack-$leg.up.log"
    echo "$leg: $versions: the service stack did not start" >"$run/$leg.line"
    return 1
  else
    export LS4_STACK_DIR=$run/stack-$leg
  fi
  bash scripts/matrix.sh --leg "$leg" --bind "$run" "${@:2}" --junitxml="$run/junit-$leg.xml" ||
    status=$?
  read -r passed failed skipped <<<"$(/usr/bin/python3 scripts/junit_counts.py "$run/junit-$leg.xml")"
  echo "$passed $failed $skipped" >"$run/$leg.counts"
  seconds=$((SECONDS - start))
  line="$leg: $versions: $passed passed, $failed failed, $skipped skipped in ${seconds}s"
  if [ "$skipped" -ne 0 ]; then
    line="$line (a skipped test fails the leg)"  # a test that did not run is not a pass
    status=1
  elif [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    [ "$failed" -ne 0 ] || line="$line (pytest exit $status)"
  else
    status=0
  fi
  echo "$line" >"$run/$leg.line"
  return "$status"
}

# The legs run at once (the suite waits on services and subprocesses about half of its time);
# each leg's output is printed whole when it ends, then one line per QGIS.
started=$SECONDS
declare -A pids
for leg in $LS4_LEGS; do
  is_chroot_leg "$leg" || true  # an unknown leg stops here
  run_leg "$leg" "$@" >"$run/$leg.log" 2>&1 &
  pids[$leg]=$!
done
echo "test: legs $LS4_LEGS running at once; each one's output follows when it ends"
failed_legs=0
left=$LS4_LEGS
while [ -n "${left// /}" ]; do
  waiting=()
  for leg in $left; do waiting+=("${pids[$leg]}"); done
  code=0
  wait -n -p done_pid "${waiting[@]}" || code=$?
  for leg in $left; do
    if [ "${pids[$leg]}" = "$done_pid" ]; then
      cat "$run/$leg.log"
      [ "$code" -eq 0 ] || failed_legs=$((failed_legs + 1))
      left=$(echo " $left " | sed "s/ $leg / /")
    fi
  done
done

echo
echo "=== QGIS matrix ($((SECONDS - started))s)"
total_passed=0 total_failed=0 total_skipped=0
for leg in $LS4_LEGS; do
  cat "$run/$leg.line" 2>/dev/null || echo "$leg: no result"
  p=0 f=0 k=0
  [ ! -f "$run/$leg.counts" ] || read -r p f k <"$run/$leg.counts"
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + k))
done
echo "matrix: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$failed_legs" -eq 0 ]
