#!/usr/bin/env bash
# The repository stands alone: a user's clone has nothing beside it.
#  1. tools/test runs ctest through tools/isolated, which hides everything beside the
#     repository; this test checks that the hiding is in effect (so any other test that
#     reads the project's sibling folders or a sibling checkout fails in this run). A run
#     without isolation while the notes folder sits beside the repository is a failure.
#  2. No tracked file outside docs names a path beside the repository or a Debian mirror
#     host (the machine's apt sources decide: tools/lib/debian-mirror.sh).
. "$SRC/tests/lib.sh"
cd "$SRC"
sib=shar; sib+=ed  # the project notes' sibling folder, spelled apart so this file does not match itself
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
  : # the sibling folder of the project's notes is $sib (spelled apart: see below)
  [ ! -e "$parent/$sib" ] && pass || fail "../$sib is visible"
elif [ -e "$(dirname "$(pwd -P)")/$sib" ]; then
  # Not hidden, and the notes folder is right there: a test could read it unnoticed.
  fail "../$sib is beside the repository and the tests run without tools/isolated: run them through tools/test"
else
  echo "note: not isolated (run through tools/test to hide what is beside the repository)"
fi
# Static: no file but Markdown names the sibling folder; no script names a mirror host.
# (The pattern is assembled so this file does not match itself.)
d='\.\.'; outside=$(git grep -l -E "$d/$sib|/$sib/vectors|/$sib/notes" -- ':!*.md' || true)
check_eq "files reading ../$sib" "" "$outside"
hosts=$(git grep -l -E 'deb\.debian\.org|security\.debian\.org|ftp\.[a-z.]*debian\.org' -- ':!*.md' ':!tests/meta/self_contained.test.sh' ':!tests/data' || true)
check_eq "files naming a Debian mirror host" "" "$hosts"
finish
