# Shared helpers for tests/*/*.test.sh. Sourced; expects BOOTSEAL, SRC, BUILD.
set -euo pipefail
: "${BOOTSEAL:?BOOTSEAL must point at the built binary}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bootseal-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
passes=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
pass() { passes=$((passes + 1)); }
check_eq() {  # check_eq WHAT EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass; else fail "$1: expected [$2], got [$3]"; fi
}
# expect_error WHAT PATTERN CMD...: CMD must fail (non-zero) with one stderr line matching PATTERN.
expect_error() {
  local what=$1 pattern=$2; shift 2
  local rc=0
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ $rc -eq 0 ]; then fail "$what: succeeded, expected an error"; return; fi
  if ! grep -qE "$pattern" "$TMP/err"; then fail "$what: stderr does not match /$pattern/: $(cat "$TMP/err")"; return; fi
  pass
}
# skip REASON: the machine lacks what the test needs (exit 77, ctest's skip). Under
# CI=true a skip is a failure: CI runs on machines tools/setup prepared, where every
# label must run.
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: would skip under CI=true: $*" >&2; exit 1; fi
  echo "SKIP: $*"; exit 77
}
need() { for t in "$@"; do command -v "$t" >/dev/null || skip "$t not installed (run tools/setup)"; done; }
finish() {
  echo "$passes passed, $fails failed"
  [ $fails -eq 0 ]
}
