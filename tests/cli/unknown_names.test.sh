#!/usr/bin/env bash
# Unknown commands and options are named (with a "did you mean" when one is
# close), usage errors exit 2, and `bootseal help [COMMAND...]` prints a
# command's options.
source "$SRC/tests/lib.sh"
B=$BOOTSEAL

# expect_usage WHAT PATTERN ARGS...: exit code 2 and PATTERN on stderr.
expect_usage() {
  local what=$1 pattern=$2; shift 2
  local rc=0
  "$B" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  check_eq "$what: exit code" 2 "$rc"
  if grep -qE "$pattern" "$TMP/err"; then pass; else fail "$what: stderr does not match /$pattern/: $(cat "$TMP/err")"; fi
}

expect_usage "unknown verb" "^bootseal: error: unknown command 'frobnicate'$" frobnicate
expect_usage "close verb" "unknown command 'verty' \(did you mean 'verity'\?\)" verty digest x
expect_usage "unknown subverb" "unknown command 'frob' for 'bootseal verity'" verity frob
expect_usage "close subverb" "unknown command 'digets' for 'bootseal verity' \(did you mean 'digest'\?\)" verity digets x
expect_usage "unknown root option" "unknown option '--frob' for 'bootseal'" --frob
expect_usage "unknown leaf option" "unknown option '--frob' for 'bootseal verity digest'" verity digest --frob x
expect_usage "close leaf option" "unknown option '--hash-algo' for 'bootseal verity digest' \(did you mean '--hash-alg'\?\)" \
  verity digest --hash-algo=sha256 x
expect_usage "no verb" "no command given \(one of: .*verity.*\)" 
expect_usage "group without verb" "'bootseal verity' needs a command: digest, measure, enable" verity
expect_usage "extra argument" "unexpected argument 'extra' for 'bootseal karg format'" karg format 00 extra
expect_usage "help of unknown" "unknown command 'frob' for 'bootseal verity'" help verity frob
expect_usage "help close" "unknown command 'statsu' \(did you mean 'status'\?\)" help statsu

# help works at every level and equals --help.
out=$("$B" help)
grep -q "verity" <<<"$out" && grep -q "Subcommands:" <<<"$out" && pass || fail "bootseal help: $out"
check_eq "help verity digest = verity digest --help" "$("$B" verity digest --help)" "$("$B" help verity digest)"
check_eq "help verity = verity --help" "$("$B" verity --help)" "$("$B" help verity)"
check_eq "help = --help" "$("$B" --help)" "$("$B" help)"
"$B" help verity digest | grep -q -- "--hash-alg" && pass || fail "help verity digest lacks --hash-alg"
finish
