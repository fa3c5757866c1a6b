#!/bin/bash
# composefs CLI against the reference vectors (made with mkcomposefs /
# composefs-info v1.0.8): image digests for default and forced versions,
# `info dump` output, and clean failures on bad input.
set -euo pipefail
: "${BOOTSEAL:?}" "${SRC:?}"
V="${SRC}/tests/data/vectors/composefs"
[ -d "$V" ] || { echo "vectors not found at $V" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
n=0
for dump in "$V"/*.dump; do
  name=$(basename "$dump" .dump)
  got=$("$BOOTSEAL" composefs mkfs --from-file --print-digest "$dump" "$T/$name.cfs")
  want=$(cat "$V/$name.digest")
  if [ "$got" != "$want" ]; then echo "FAIL $name: digest $got, want $want"; fail=1; fi
  # The digest printed equals fsverity-utils' digest of the written image.
  fv=$(fsverity digest --compact "$T/$name.cfs")
  [ "$fv" = "$want" ] || { echo "FAIL $name: fsverity digest of the file is $fv"; fail=1; }
  for v in 0 1; do
    [ -f "$V/$name.v$v.digest" ] || continue
    got=$("$BOOTSEAL" composefs mkfs --from-file --min-version=$v --max-version=$v --print-digest-only "$dump")
    [ "$got" = "$(cat "$V/$name.v$v.digest")" ] || { echo "FAIL $name v$v: $got"; fail=1; }
  done
  if ! "$BOOTSEAL" composefs info dump "$T/$name.cfs" | cmp -s - "$V/$name.info-dump"; then
    echo "FAIL $name: info dump differs"; "$BOOTSEAL" composefs info dump "$T/$name.cfs" | diff - "$V/$name.info-dump" | head -5
    fail=1
  fi
  # stdin input gives the same image.
  "$BOOTSEAL" composefs mkfs --from-file - "$T/stdin.cfs" < "$dump"
  cmp -s "$T/stdin.cfs" "$T/$name.cfs" || { echo "FAIL $name: stdin image differs"; fail=1; }
  n=$((n + 1))
done
[ "$n" -ge 10 ] || { echo "only $n vectors"; fail=1; }

# Bad input: one line on stderr naming the problem, exit 3, no output file.
bad() {  # bad NAME EXPECTED-SUBSTRING  (dumpfile on stdin)
  local out="$T/bad-$1.cfs" rc=0
  "$BOOTSEAL" composefs mkfs --from-file - "$out" 2> "$T/err" < /dev/stdin || rc=$?
  if [ "$rc" != 3 ]; then echo "FAIL bad $1: exit $rc"; fail=1; fi
  grep -q -- "$2" "$T/err" || { echo "FAIL bad $1: stderr: $(cat "$T/err")"; fail=1; }
  [ "$(wc -l < "$T/err")" = 1 ] || { echo "FAIL bad $1: more than one line"; fail=1; }
  if [ -e "$out" ] || ls "$T"/.bad-* > /dev/null 2>&1; then echo "FAIL bad $1: output left behind"; fail=1; fi
}
R='/ 4096 40755 2 0 0 0 0.0 - - -'
printf '%s\n/a 0 10x644 1 0 0 0 0.0 - - -\n' "$R" | bad mode "line 2: invalid MODE"
printf '%s\n/f 5 100644 1 0 0 0 0.0 ab/cd - zz%s\n' "$R" "$(printf '0%.0s' $(seq 62))" | bad digest "line 2: invalid digest"
printf '%s\n/l 0 @100644 1 0 0 0 0.0 /missing - -\n' "$R" | bad hardlink "line 2: no target at /missing"
printf '%s\n/a/../b 0 100644 1 0 0 0 0.0 - - -\n' "$R" | bad dotdot "invalid '..' component"
printf '%s\n/s 1 120777 1 0 0 0 0.0 %s - -\n' "$R" "$(head -c 4096 /dev/zero | tr '\0' x)" | bad symlink "symlink target of 4096 bytes"
printf '%s\n/x/y 0 100644 1 0 0 0 0.0 - - -\n' "$R" | bad parent "line 2: parent directory missing"
printf '/ 4096 40755 2 0 0 0 0.0 - - - user.a\n' | bad xattr "line 1: missing '='"
# Truncated and corrupt images.
head -c 5000 "$T/hardlinks.cfs" > "$T/trunc.cfs"
rc=0; "$BOOTSEAL" composefs info dump "$T/trunc.cfs" > /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 3 ] && grep -q "trunc.cfs" "$T/err" || { echo "FAIL truncated image: rc=$rc $(cat "$T/err")"; fail=1; }
printf 'not an image at all' > "$T/junk.cfs"
rc=0; "$BOOTSEAL" composefs info ls "$T/junk.cfs" > /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 3 ] || { echo "FAIL junk image: rc=$rc"; fail=1; }
[ "$fail" = 0 ] && echo "composefs vectors: $n cases ok"
exit "$fail"
