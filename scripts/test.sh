#!/usr/bin/env bash
# Lint and type-check once, then the whole suite on every leg of the QGIS matrix (LS4_LEGS, default: the host's
# QGIS, 3.40 LTR and 3.44 in Debian 13 chroots; see scripts/matrix_lib.sh). The services (PostGIS,
# SeaweedFS S3, MapServer) run once, on the host, for every leg. One line per QGIS, then a total;
# fails if any leg fails. Arguments go to every pytest run (e.g. tests/test_keys.py -x).
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
  local status=$?
  if [ -f "$run/stack/state.json" ] || [ -d "$run/stack" ]; then
    .venv/bin/python -m tools.stack down --dir "$run/stack" --purge >"$run/stack-down.log" 2>&1 ||
      cat "$run/stack-down.log" >&2
  fi
  rm -rf "$run"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "test: starting the service stack in $run/stack"
if ! .venv/bin/python -m tools.stack up --dir "$run/stack" >"$run/stack-up.log" 2>&1; then
  cat "$run/stack-up.log" >&2
  exit 1
fi
export LS4_STACK_DIR=$run/stack

results=() failed_legs=0 total_passed=0 total_failed=0 total_skipped=0
for leg in $LS4_LEGS; do
  versions=$(bash scripts/matrix.sh --leg "$leg" --versions 2>&1) || versions="(versions unknown: $versions)"
  echo "=== leg $leg: $versions"
  junit=$run/junit-$leg.xml
  start=$SECONDS
  status=0
  bash scripts/matrix.sh --leg "$leg" --bind "$run" "$@" --junitxml="$junit" || status=$?
  seconds=$((SECONDS - start))
  read -r passed failed skipped < <(/usr/bin/python3 - "$junit" <<'EOF'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0, 0)
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
count = {key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors", "skipped")}
failed = count["failures"] + count["errors"]
print(count["tests"] - failed - count["skipped"], failed, count["skipped"])
EOF
  )
  line="$leg: $versions: $passed passed, $failed failed, $skipped skipped in ${seconds}s"
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    failed_legs=$((failed_legs + 1))
    if [ "$failed" -eq 0 ]; then
      failed=1
      line="$line (pytest exit $status)"
    fi
  fi
  results+=("$line")
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
done

echo
echo "=== QGIS matrix"
for line in "${results[@]}"; do echo "$line"; done
echo "matrix: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$failed_legs" -eq 0 ]
