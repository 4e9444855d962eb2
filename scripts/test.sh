#!/usr/bin/env bash
# Runs the tests (uvu, over the built JS) and, when the shared conformance data sits beside
# the checkout, the parser conformance run. Ends with one line `N passed, N failed`.
#   scripts/test.sh          everything (npm test)
#   scripts/test.sh unit     tests that need no root and no system parts: seconds (npm run test:unit)
#   scripts/test.sh system   the others: builds, sandboxes, mounts, registries (npm run test:system)
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}

# Unit tests: the pure folders' (parser/, frontend/) and these pure modules'. A test that
# needs root, a mount, a sandbox or a registry is a system test.
unit='(parser/.*|frontend/.*|build/build-platforms|executor/emulation|oci/(digest|image-types|reference)|solver/(scheduler|explain-miss|context-digests)|executor/(user|create-runtime-spec|resolve-in-root|rootless-spec|subordinate-ids)|util/id-mapping|store/resolve-root|harness|index)\.test\.js$'
case "$mode" in
  all) pattern='\.test\.js$' ;;
  unit) pattern="^${unit}" ;;
  system) pattern="^(?!${unit}).*\.test\.js\$" ;;
  *) echo "Usage: scripts/test.sh [unit|system]" >&2; exit 2 ;;
esac

npm run --silent build || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
node node_modules/uvu/bin.js dist/test "$pattern" 2>&1 | tee "$log"
uvu_status=${PIPESTATUS[0]}
total=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log" | tail -1)
passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
total=${total:-0}; passed=${passed:-0}; skipped=${skipped:-0}
failed=$((total - passed - skipped))
if [ "$uvu_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

shared=../shared
if [ "$mode" != system ] && [ -d "$shared/conformance" ] && [ -f dist/test/conformance/main.js ]; then
  node dist/test/conformance/main.js "$shared/conformance" "$shared/corpus/dockerfiles" 2>&1 | tee "$log"
  conf_status=${PIPESTATUS[0]}
  c_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  c_passed=$(echo "$c_line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  c_failed=$(echo "$c_line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  passed=$((passed + ${c_passed:-0}))
  failed=$((failed + ${c_failed:-0}))
  if [ "$conf_status" -ne 0 ] && [ "${c_failed:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
