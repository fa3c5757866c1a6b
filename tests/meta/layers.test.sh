#!/usr/bin/env bash
# The layering rules hold (tools/check-layers): only src/sys makes system calls,
# third-party libraries stay in their module, every include is in the includer's
# CMake DEPS, and docs/design.md's module map matches those DEPS.
# Then the checker itself, on a small fixture tree with one violation of each kind.
. "$SRC/tests/lib.sh"
need python3
out=$("$SRC/tools/check-layers" 2>&1) && pass || fail "tools/check-layers on the repository: $out"

# A fixture: base <- a <- b, one problem per rule.
F=$TMP/tree
mkdir -p "$F/src/base" "$F/src/a" "$F/src/b" "$F/src/sys" "$F/docs"
echo 'bootseal_module(base DEPS fmt::fmt)' >"$F/src/base/CMakeLists.txt"
echo 'bootseal_module(sys DEPS base)' >"$F/src/sys/CMakeLists.txt"
echo 'bootseal_module(a DEPS base sys)' >"$F/src/a/CMakeLists.txt"
echo 'bootseal_module(b DEPS base a)' >"$F/src/b/CMakeLists.txt"
readme() { printf '# src/%s\n\nMay use (DEPS in CMakeLists.txt): %s.\n' "$1" "$2" >"$F/src/$1/README.md"; }
readme base "nothing of bootseal"; readme sys base; readme a "base, sys"; readme b "base"
printf '#include <unistd.h>\n' >"$F/src/sys/ok.cc"
printf '#include "sys/file.h"\n#include <fcntl.h>\n' >"$F/src/a/a.cc"
printf '#include "a/a.h"\n#include "sys/file.h"\n#include <openssl/evp.h>\n' >"$F/src/b/b.cc"
printf '#include <unistd.h>\n#include "sys/file.h"\n' >"$F/src/b/b_test.cc"  # tests may: a's DEPS bring sys
cat >"$F/docs/design.md" <<'EOF'
| layer | module | notes |
|---|---|---|
| L0 | base | |
| L1 | sys, b | |
| L2 | a | |

### DEPS as declared
| module | DEPS |
|---|---|
| a | base sys |
| b | base |
| base | — |
| sys | base |
EOF
rc=0
"$SRC/tools/check-layers" --root "$F" >"$TMP/out" 2>"$TMP/err" || rc=$?
check_eq "check-layers exit status on the fixture" 1 "$rc"
expected="src/a/a.cc:2: includes <fcntl.h> outside src/sys (system calls belong in sys/)
src/b/b.cc:2: includes sys/file.h, but module 'sys' is not in b's DEPS
src/b/b.cc:3: includes <openssl/evp.h>, which only crypto may use
docs/design.md: b (L1) uses a of a higher layer (L2)
docs/design.md: the DEPS table says b uses 'base', its CMakeLists says 'base a'
src/b/README.md: its 'May use (DEPS ...)' line does not name exactly base, a"
check_eq "the fixture's problems" "$expected" "$(cat "$TMP/out")"
grep -q "6 problem(s)" "$TMP/err" && pass || fail "no problem count on stderr: $(cat "$TMP/err")"

# Fixed, the fixture passes.
echo 'bootseal_module(b DEPS base a sys)' >"$F/src/b/CMakeLists.txt"
readme b "base, a, sys"
printf '#include "a/a.h"\n#include "sys/file.h"\n' >"$F/src/b/b.cc"
printf '#include "sys/file.h"\n' >"$F/src/a/a.cc"
sed -i 's/^| L1 | sys, b |/| L1 | sys |/; s/^| L2 | a |/| L2 | a |\n| L3 | b | |/; s/^| b | base |$/| b | base a sys |/' \
  "$F/docs/design.md"
out=$("$SRC/tools/check-layers" --root "$F" 2>&1) && pass || fail "the fixed fixture: $out"
finish
