#!/bin/bash
# Repository life cycle: init (meta.json in composefs-rs's schema), settings
# pinned, unknown features refused, bootc-style V2 repositories opened,
# import/tag/untag/ls, fsck finding damage, gc freeing what no ref reaches,
# warm re-import reusing layer records, and the flock lock.
source "$SRC/tests/lib.sh"
need python3 flock
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
export BOOTSEAL_REPO=$TMP/r
"$BOOTSEAL" -q repo init
check_eq "meta.json" '{"version":1,"algorithm":"fsverity-sha512-12","features":{"compatible":[],"read-only-compatible":["v1_erofs"],"incompatible":[]},"erofs_formats":{"default":1}}' "$(cat r/composefs/meta.json)"
check_eq "composefs/ mode" 700 "$(stat -c %a r/composefs)"
for d in objects images streams streams/refs; do [ -d r/composefs/$d ] && pass || fail "missing $d"; done
"$BOOTSEAL" -q repo init && pass || fail "re-init with the same settings"
expect_error "re-init with other settings" "different settings: it has fsverity-sha512-12, EROFS V1, asked for fsverity-sha256-12" \
  "$BOOTSEAL" repo init --hash sha256
"$BOOTSEAL" -q repo init --repo "$TMP/r256" --hash sha256
check_eq "sha256 meta" "fsverity-sha256-12" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["algorithm"])' r256/composefs/meta.json)"

# Unknown incompatible feature: refused. Unknown ro-compatible: read-only.
mkdir -p bad/composefs
echo '{"version":1,"algorithm":"fsverity-sha512-12","features":{"compatible":[],"read-only-compatible":["v1_erofs"],"incompatible":["future"]},"erofs_formats":{"default":1}}' > bad/composefs/meta.json
expect_error "incompatible feature" 'unknown incompatible feature "future"' "$BOOTSEAL" repo fsck --repo bad
echo '{"version":1,"algorithm":"fsverity-md5-12"}' > bad/composefs/meta.json
expect_error "bad algorithm" 'algorithm "fsverity-md5-12"' "$BOOTSEAL" repo fsck --repo bad
expect_error "no repository" 'not a repository' "$BOOTSEAL" repo ls --repo "$TMP/nothing"

# Images.
cat > l1.json <<'J'
[{"path":"usr","type":"dir"},{"path":"usr/big","size":100000},{"path":"usr/small","data":"s"},
 {"path":"boot","type":"dir"},{"path":"sysroot","type":"dir"}]
J
cat > l2.json <<'J'
[{"path":"usr/second","size":5000}]
J
cat > l3.json <<'J'
[{"path":"usr/third","size":7000}]
J
for i in 1 2 3; do $PY layer l$i.json l$i.tar; done
$PY image a --tag t --gzip l1.tar l2.tar
$PY image b --tag t --gzip l1.tar l3.tar
da=$("$BOOTSEAL" -q image import --ref a oci:a:t)
db=$("$BOOTSEAL" -q image import --ref os/b oci:b:t)
check_eq "import digest = image digest" "$da" "$("$BOOTSEAL" image digest oci:a:t)"
check_eq "image file" "$da" "$(basename r/composefs/images/$da)"
# The shared layer l1 was stored once: 100000-byte object once.
check_eq "shared layer stored once" 1 "$(find r/composefs/objects -type f -size 100000c | wc -l)"
check_eq "repo ls" "a $da
os/b $db" "$("$BOOTSEAL" repo ls)"
"$BOOTSEAL" image ls | grep -q "^a .*amd64 .*2026-01-01T00:00:00Z .*42.1 .*sha256:" && pass || fail "image ls: $("$BOOTSEAL" image ls)"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck clean"
# Warm re-import: every layer replayed from its record, nothing new written.
out=$("$BOOTSEAL" --json image import --ref a2 oci:a:t)
check_eq "warm: layers read" 0 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers_read"])')"
check_eq "warm: layers reused" 2 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers_reused"])')"
check_eq "warm: objects written" 0 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects_written"])')"
# tag / untag
"$BOOTSEAL" repo tag again "${da:0:12}" && pass || fail "tag by digest prefix"
check_eq "tag points at a" "$da" "$("$BOOTSEAL" image digest again)"
"$BOOTSEAL" repo untag again && pass || fail "untag"
expect_error "untag missing" 'no reference "again"' "$BOOTSEAL" repo untag again
expect_error "bad ref name" 'bad reference name' "$BOOTSEAL" image import --ref ../evil oci:a:t
# gc: nothing to free while everything is referenced...
check_eq "gc with all referenced" "freed 0 files, 0 bytes" "$("$BOOTSEAL" repo gc | tail -1)"
# ...and b's own layer, record and image once os/b is gone.
"$BOOTSEAL" repo untag os/b
"$BOOTSEAL" repo gc --dry-run > dry.out
grep -q "would remove images/$db" dry.out && pass || fail "dry-run does not list b's image"
[ -f r/composefs/images/$db ] && pass || fail "dry-run removed something"
"$BOOTSEAL" repo gc > gc.out
grep -q "removed images/$db" gc.out && pass || fail "gc kept b's image"
[ -f r/composefs/images/$db ] && fail "b's image still there" || pass
[ -f r/composefs/images/$da ] && pass || fail "gc removed a's image"
check_eq "b's layer object gone" 0 "$(find r/composefs/objects -type f -size 7000c | wc -l)"
check_eq "shared object kept" 1 "$(find r/composefs/objects -type f -size 100000c | wc -l)"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after gc"
# Symlinks a crash left under their temporary names (record and ref writes
# create NAME.tmp-XXXX, then rename it) are freed by gc, and ignored by fsck.
ln -s ../objects/00/00 "r/composefs/streams/bootseal-image-x.tmp-abc123"
ln -s ../bootseal-image-x "r/composefs/streams/refs/a.tmp-def456"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck counts leftover temporary symlinks as problems"
"$BOOTSEAL" repo gc > gc.out
grep -q "removed streams/bootseal-image-x.tmp-abc123" gc.out && pass || fail "gc kept a leftover stream temporary: $(cat gc.out)"
grep -q "removed streams/refs/a.tmp-def456" gc.out && pass || fail "gc kept a leftover ref temporary: $(cat gc.out)"
[ -z "$(find r/composefs/streams -name '*.tmp-*')" ] && pass || fail "temporaries left in streams/"
[ -f r/composefs/images/$da ] && pass || fail "gc of temporaries removed a's image"
# fsck reports damage: a corrupted object, a missing object, a corrupted image.
obj=$(find r/composefs/objects -type f -size 5000c | head -1)
printf 'X' | dd of="$obj" bs=1 seek=10 conv=notrunc status=none
expect_error "fsck corrupt object" "fsck found 1 problems" "$BOOTSEAL" repo fsck
grep -q "content digest is" "$TMP/out" && pass || fail "fsck did not name the corrupt object"
rm "$obj"
expect_error "fsck missing object" "fsck found" "$BOOTSEAL" repo fsck
grep -q "missing object" "$TMP/out" && pass || fail "fsck did not report the missing object"
grep -q "images/$da: /usr/second: missing object" "$TMP/out" && pass || fail "fsck did not check the image's references: $(cat "$TMP/out")"
# The next import repairs it (the layer record is incomplete, so it is re-read).
"$BOOTSEAL" -q image import --ref a oci:a:t >/dev/null
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after re-import"
# Lock: gc needs the lock exclusively; with --no-wait it fails at once.
flock -s r/composefs sleep 5 &
sleep 0.5
expect_error "gc --no-wait under a shared lock" "locked by another process" "$BOOTSEAL" repo gc --no-wait
"$BOOTSEAL" repo fsck --no-wait >/dev/null && pass || fail "shared lock blocks a reader"
wait
# gc never touches a repository holding streams it cannot read.
mkdir -p r/composefs/images/refs
expect_error "gc on a bootc repository" "refusing to gc" "$BOOTSEAL" repo gc
rmdir r/composefs/images/refs
ln -s ../objects/00/00 r/composefs/streams/oci-config-sha256:0000
expect_error "gc with foreign streams" "oci-config-sha256:0000.*refusing to gc" "$BOOTSEAL" repo gc
rm r/composefs/streams/oci-config-sha256:0000
# A directory import: file data copied in the kernel (reflink or
# copy_file_range, both work within one filesystem), hashed from the copy.
mkdir -p tree/usr tree/boot tree/sysroot
head -c 300000 /dev/urandom > tree/usr/big; head -c 70000 /dev/urandom > tree/usr/mid; echo small > tree/usr/small
out=$("$BOOTSEAL" --json image import --ref tree dir:tree)
check_eq "dir import: objects cloned" 2 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects_cloned"])')"
dt=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')
check_eq "dir import digest = image digest" "$("$BOOTSEAL" image digest tree)" "$dt"
"$BOOTSEAL" image digest --dumpfile tree.dump tree >/dev/null
for f in big mid; do
  o=$(awk -v p="/usr/$f" '$1==p {print $9}' tree.dump)
  cmp -s "r/composefs/objects/$o" tree/usr/$f && pass || fail "dir import: object of $f differs from the file"
done
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after a directory import"
# A bootc repository of bootc <= 1.16.3: no erofs_formats means V2.
mkdir -p v2/composefs
echo '{"version":1,"algorithm":"fsverity-sha512-12","features":{"compatible":[],"read-only-compatible":[],"incompatible":[]}}' > v2/composefs/meta.json
"$BOOTSEAL" repo ls --repo v2 >/dev/null && pass || fail "V2 repo does not open"
check_eq "V2 repo import writes a V2 image" "$("$BOOTSEAL" image digest --format v2 oci:a:t)" \
  "$("$BOOTSEAL" -q image import --repo v2 oci:a:t)"
"$BOOTSEAL" repo fsck --repo v2 >/dev/null && pass || fail "fsck of the V2 repository"
finish
