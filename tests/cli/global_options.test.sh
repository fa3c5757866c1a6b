#!/usr/bin/env bash
# The global options show in every command's --help, and --json either gives
# JSON or is refused as a usage error (exit 2): never silently ignored.
source "$SRC/tests/lib.sh"
B=$BOOTSEAL

# Every command path, from --help's own "Subcommands:" lists.
subcommands() { "$B" "$@" --help | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1} s && /^$/{s=0}'; }
paths=()
for top in $(subcommands); do
  subs=$(subcommands "$top")
  if [ -z "$subs" ]; then paths+=("$top"); else for s in $subs; do paths+=("$top $s"); done; fi
done
[ ${#paths[@]} -gt 30 ] && pass || fail "only ${#paths[@]} commands found"
for p in "${paths[@]}"; do
  # shellcheck disable=SC2086
  h=$("$B" $p --help)
  for o in --json --quiet --verbose --threads; do
    grep -q -- "$o" <<<"$h" && pass || fail "'bootseal $p --help' does not show $o"
  done
  grep -q "^Global options:" <<<"$h" && pass || fail "'bootseal $p --help' has no Global options section"
done

# Global options are accepted after the verb as well as before it.
printf 'hello' >"$TMP/f"
check_eq "--json after verb" "$("$B" --json verity digest "$TMP/f")" "$("$B" verity digest --json "$TMP/f")"

# --json where it used to be ignored: karg format, repo tag/untag, composefs mkfs give JSON.
d=$(printf '%0128d' 0 | tr 0 a)
"$B" --json karg format "$d" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["karg"].startswith("composefs"), j' \
  && pass || fail "karg format --json"
mkdir -p "$TMP/tree" && echo x >"$TMP/tree/a"
"$B" --json composefs mkfs "$TMP/tree" "$TMP/img" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert len(j["digest"])==64 and j["image"], j' \
  && pass || fail "composefs mkfs --json"
"$B" repo init --repo "$TMP/r" >/dev/null
"$B" -q image import --repo "$TMP/r" --ref base "dir:$TMP/tree" >/dev/null
"$B" --json repo tag --repo "$TMP/r" other base | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["ref"]=="other", j' \
  && pass || fail "repo tag --json"
"$B" --json repo untag --repo "$TMP/r" other | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["removed"], j' \
  && pass || fail "repo untag --json"

# Refused, with a message, where a command has no JSON output.
for c in "composefs info ls $TMP/img" "composefs scan $TMP/tree" "verity enable $TMP/f" \
         "uki build --linux $TMP/f --output $TMP/u.efi" "uki addon --cmdline x --output $TMP/a.efi"; do
  rc=0
  # shellcheck disable=SC2086
  "$B" --json $c >"$TMP/out" 2>"$TMP/err" || rc=$?
  check_eq "--json $c: exit code" 2 "$rc"
  grep -q "has no JSON output" "$TMP/err" && pass || fail "--json $c: $(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] && pass || fail "--json $c printed: $(head -c 200 "$TMP/out")"
done
[ ! -e "$TMP/u.efi" ] && pass || fail "refused uki build wrote its output"
finish
