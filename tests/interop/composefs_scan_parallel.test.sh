#!/bin/bash
# The parallel directory scanner (composefs scan / mkfs SOURCE-DIR) gives the
# same result whatever the thread count and however the work is split: the
# dumpfile and the image bytes with 1, 2 and 7 threads agree, with and without
# --hardlinks (the first name in depth-first order is the primary), on a tree
# with every file type, a directory of 300 files (several file batches) and
# files around the 4 KiB block and 64 KiB read sizes. Every file digest equals
# `fsverity digest` (the AVX-512 16-lane leaf hashing where the CPU has it,
# OpenSSL otherwise), and --digest-store writes each object once, with the
# right bytes and no temporary left behind.
set -euo pipefail
: "${BOOTSEAL:?}" "${SRC:?}"
command -v fsverity > /dev/null || { echo "fsverity missing (apt install fsverity)"; exit 1; }
source "$SRC/tests/lib/composefs_tree.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0

make_composefs_tree "$T/tree"
mkdir -p "$T/tree/sizes" "$T/tree/many/x/y" "$T/tree/z/deep/er/still"
for n in 1 63 64 65 4095 4096 4097 65535 65536 65537 131077 1048579 9437185; do
  head -c "$n" /dev/urandom > "$T/tree/sizes/f$n"
done
# Duplicates (dedup in the store) and hardlinks across directories, where
# depth-first order and a parallel walk's finishing order differ.
cp "$T/tree/sizes/f65537" "$T/tree/many/dup"
ln "$T/tree/sizes/f131077" "$T/tree/z/deep/er/still/link"
ln "$T/tree/sizes/f131077" "$T/tree/many/x/link"
for i in $(seq 1 150); do head -c $((i * 997)) /dev/urandom > "$T/tree/many/x/y/f$i"; done

for hl in "" --hardlinks; do
  for t in 1 2 7; do
    "$BOOTSEAL" --threads "$t" composefs scan $hl "$T/tree" > "$T/scan$hl.$t"
    "$BOOTSEAL" composefs mkfs $hl --threads "$t" "$T/tree" "$T/img$hl.$t"
  done
  for t in 2 7; do
    cmp -s "$T/scan$hl.1" "$T/scan$hl.$t" || { echo "FAIL scan $hl: $t threads differ from 1"; diff "$T/scan$hl.1" "$T/scan$hl.$t" | head; fail=1; }
    cmp -s "$T/img$hl.1" "$T/img$hl.$t" || { echo "FAIL image $hl: $t threads differ from 1"; fail=1; }
  done
  # The image equals the one built from the scanned dumpfile.
  "$BOOTSEAL" composefs mkfs $hl --from-file "$T/scan$hl.1" "$T/fromdump$hl"
  cmp -s "$T/fromdump$hl" "$T/img$hl.1" || { echo "FAIL image $hl differs from the dumpfile's"; fail=1; }
done

# The single-stream hashing path (CPUs without AVX-512) gives the same result.
BOOTSEAL_SHA_MULTI=0 "$BOOTSEAL" --threads 2 composefs scan "$T/tree" > "$T/scan.noavx"
cmp -s "$T/scan.1" "$T/scan.noavx" || { echo "FAIL scan without AVX-512 differs"; diff "$T/scan.1" "$T/scan.noavx" | head; fail=1; }

# --hardlinks: the primary is the first name in depth-first name order.
grep -q "^/many/x/link .* 100644 3 " "$T/scan--hardlinks.1" || { echo "FAIL primary of the 3-link inode"; fail=1; }
grep -q "^/sizes/f131077 .* @100644 .* /many/x/link " "$T/scan--hardlinks.1" || { echo "FAIL link to the primary"; fail=1; }
grep -q "^/z/deep/er/still/link .* @100644 .* /many/x/link " "$T/scan--hardlinks.1" || { echo "FAIL second link"; fail=1; }

# Digests against fsverity-utils.
n=0
while read -r path size mode _ _ _ _ _ payload content digest _; do
  [ "$digest" != - ] || continue
  file="$T/tree$(printf '%b' "$path")"
  want=$(fsverity digest --compact "$file")
  [ "$digest" = "$want" ] || { echo "FAIL digest of $path: $digest, fsverity says $want"; fail=1; }
  n=$((n + 1))
done < "$T/scan.1"
[ "$n" -gt 170 ] || { echo "FAIL only $n digests checked"; fail=1; }

# The store: every object once, bytes equal to its digest, no temporaries.
"$BOOTSEAL" composefs mkfs --threads 2 --digest-store "$T/store" "$T/tree" "$T/store.cfs"
cmp -s "$T/store.cfs" "$T/img.1" || { echo "FAIL --digest-store changed the image"; fail=1; }
"$BOOTSEAL" composefs info missing-objects --basedir "$T/store" "$T/store.cfs" > "$T/missing"
[ ! -s "$T/missing" ] || { echo "FAIL missing objects: $(head -3 "$T/missing")"; fail=1; }
objs=$("$BOOTSEAL" composefs info objects "$T/store.cfs" | sort -u | wc -l)
files=$(find "$T/store" -type f | wc -l)
[ "$objs" = "$files" ] || { echo "FAIL store holds $files files for $objs objects"; fail=1; }
[ -z "$(find "$T/store" -name '.tmp*')" ] || { echo "FAIL temporaries left in the store"; fail=1; }
for obj in $(find "$T/store" -type f | head -50); do
  rel=${obj#"$T/store/"}
  [ "$(fsverity digest --compact "$obj")" = "${rel/\//}" ] || { echo "FAIL object $rel has other bytes"; fail=1; }
done
# A second run into the same store finds every object present.
"$BOOTSEAL" composefs mkfs --digest-store "$T/store" "$T/tree" "$T/store2.cfs"
[ "$(find "$T/store" -type f | wc -l)" = "$files" ] || { echo "FAIL second run added files"; fail=1; }

# Errors name the file: an unreadable directory (as non-root only) and a
# missing source.
if "$BOOTSEAL" composefs mkfs "$T/nonexistent" "$T/x.cfs" 2> "$T/err"; then
  echo "FAIL missing source accepted"; fail=1
fi
grep -q "nonexistent" "$T/err" || { echo "FAIL error does not name the source: $(cat "$T/err")"; fail=1; }
[ ! -e "$T/x.cfs" ] || { echo "FAIL partial image left"; fail=1; }

[ "$fail" = 0 ] && echo "scanner agrees across 1/2/7 threads; $n digests match fsverity; store has $files objects"
exit "$fail"
