#!/usr/bin/env bash
# The repository stands alone: a user's clone has nothing beside it.
#  1. tools/test runs ctest through tools/isolated, which hides everything beside the
#     repository; this test checks that the hiding is in effect (so any other test that
#     reads ../shared or a sibling checkout fails in this run). Under CI=true a run
#     without isolation is a failure, not a skip.
#  2. No tracked file outside docs names a path beside the repository or a Debian mirror
#     host (the machine's apt sources decide: tools/lib/debian-mirror.sh).
. "$SRC/tests/lib.sh"
cd "$SRC"
if [ "${BOOTSEAL_ISOLATED:-}" = 1 ]; then
  parent=$(dirname "$(pwd -P)")
  others=""
  for e in $(ls -A "$parent"); do
    [ "$parent/$e" = "$(pwd -P)" ] && continue
    # Build directories bound back in by tools/isolated are allowed.
    [ "$parent/$e" = "$(cd "$BUILD" && pwd -P)" ] && continue
    others="$others $e"
  done
  check_eq "nothing beside the repository during the test run" "" "$others"
  [ ! -e "$parent/shared" ] && pass || fail "../shared is visible"
elif [ "${CI:-}" = true ]; then
  fail "tests run without tools/isolated under CI=true: run them through tools/test"
else
  echo "note: not isolated (run through tools/test to hide ../shared)"
fi
# Static: no file but Markdown names ../shared; no script names a mirror host.
outside=$(git grep -l -E '\.\./shared|/shared/vectors|/shared/notes' -- ':!*.md' ':!tests/meta/self_contained.test.sh' || true)
check_eq "files reading ../shared" "" "$outside"
hosts=$(git grep -l -E 'deb\.debian\.org|security\.debian\.org|ftp\.[a-z.]*debian\.org' -- ':!*.md' ':!tests/meta/self_contained.test.sh' ':!tests/data' || true)
check_eq "files naming a Debian mirror host" "" "$hosts"
finish
