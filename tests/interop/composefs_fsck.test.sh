#!/bin/bash
# fsck.erofs (erofs-utils) accepts every composefs image we write: from each
# reference dumpfile, from a tree of every file type, and from /usr/share/doc.
# Also the round trip directory -> image -> read back -> dumpfile equals the
# scanner's dumpfile (up to the documented differences).
set -euo pipefail
: "${BOOTSEAL:?}" "${SRC:?}"
command -v fsck.erofs > /dev/null || { echo "fsck.erofs missing (apt install erofs-utils)"; exit 1; }
source "$SRC/tests/lib/composefs_tree.sh"
V="$SRC/tests/data/vectors/composefs"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() {  # check IMAGE
  if ! fsck.erofs "$1" > "$T/fsck.log" 2>&1; then
    echo "FAIL fsck.erofs $1:"; cat "$T/fsck.log"; fail=1
  fi
}
n=0
for dump in "$V"/*.dump "$SRC"/tests/data/vectors/composefs-rs/*_v[01].dump; do
  for v in 0 1; do
    "$BOOTSEAL" composefs mkfs --from-file --min-version=$v --max-version=$v "$dump" "$T/img.cfs"
    check "$T/img.cfs"
    n=$((n + 1))
  done
  # composefs-rs's legacy V2 layout, read back by our reader too.
  # (composefs-rs keeps at most 512 bytes inline and 1024-byte symlinks: such
  # inputs are refused.)
  if "$BOOTSEAL" composefs mkfs --from-file --format v2 "$dump" "$T/img.cfs" 2> "$T/v2err"; then
    check "$T/img.cfs"
    "$BOOTSEAL" composefs info dump "$T/img.cfs" > /dev/null
    n=$((n + 1))
  elif ! grep -qE "inline only up to 512|symlink targets up to 1024" "$T/v2err"; then
    echo "FAIL V2 of $dump: $(cat "$T/v2err")"; fail=1
  fi
done

make_composefs_tree "$T/tree"
"$BOOTSEAL" composefs mkfs --digest-store "$T/objects" "$T/tree" "$T/tree.cfs"
check "$T/tree.cfs"
# fsck.erofs --extract sees every name and symlink target.
mkdir "$T/x"
fsck.erofs --extract="$T/x/out" --no-preserve "$T/tree.cfs" > /dev/null 2>&1 || true
for f in small a/b/sym longsym a/b/c/"file with space 300" fifo; do
  [ -e "$T/x/out/$f" ] || [ -L "$T/x/out/$f" ] || { echo "FAIL extract: $f missing"; fail=1; }
done
[ "$(readlink "$T/x/out/a/b/sym")" = ../small ] || { echo "FAIL extract: symlink target"; fail=1; }
cmp -s "$T/x/out/small" "$T/tree/small" || { echo "FAIL extract: inline content"; fail=1; }

# Round trip.
"$BOOTSEAL" composefs scan "$T/tree" > "$T/scan.dump"
"$BOOTSEAL" composefs info dump "$T/tree.cfs" > "$T/back.dump"
if ! diff <(normalize_dump < "$T/scan.dump") <(normalize_dump < "$T/back.dump") > "$T/diff"; then
  echo "FAIL round trip:"; head -20 "$T/diff"; fail=1
fi
# The scanner's dumpfile rebuilds the identical image.
"$BOOTSEAL" composefs mkfs --from-file "$T/scan.dump" "$T/again.cfs"
cmp -s "$T/again.cfs" "$T/tree.cfs" || { echo "FAIL image from the scanned dumpfile differs"; fail=1; }
# Every external file is in the store under its digest, with the same bytes.
"$BOOTSEAL" composefs info missing-objects --basedir "$T/objects" "$T/tree.cfs" > "$T/missing"
[ ! -s "$T/missing" ] || { echo "FAIL missing objects: $(cat "$T/missing")"; fail=1; }
for obj in $("$BOOTSEAL" composefs info objects "$T/tree.cfs"); do
  d=$(fsverity digest --compact "$T/objects/$obj")
  [ "$d" = "${obj/\//}" ] || { echo "FAIL object $obj has digest $d"; fail=1; }
done

if [ -d /usr/share/doc ]; then
  "$BOOTSEAL" composefs mkfs /usr/share/doc "$T/doc.cfs"
  check "$T/doc.cfs"
  "$BOOTSEAL" composefs scan /usr/share/doc > "$T/doc.dump"
  "$BOOTSEAL" composefs info dump "$T/doc.cfs" > "$T/docback.dump"
  diff <(normalize_dump < "$T/doc.dump") <(normalize_dump < "$T/docback.dump") > "$T/diff" ||
    { echo "FAIL /usr/share/doc round trip:"; head "$T/diff"; fail=1; }
fi
[ "$fail" = 0 ] && echo "fsck.erofs accepted $n vector images and the real trees"
exit "$fail"
