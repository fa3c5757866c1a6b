#!/bin/bash
# OCI layer application with hand-made tar layers: every whiteout, opaque,
# hardlink, xattr, long-name, device and mtime-nsec case, checked against an
# expected dumpfile (the merged tree after the OCI and boot transforms), the
# same digest from oci:, oci-archive:, docker-archive: and for gzip, zstd and
# uncompressed layers, and hostile layers rejected with the layer and entry named.
source "$SRC/tests/lib.sh"
need python3 skopeo zstd
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
LONG=$(printf 'n%.0s' $(seq 1 200))
CAP='\u0001\u0000\u0000\u0002\u0000\u0004\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000'
cat > l1.json <<J
[{"path":"usr","type":"dir","mtime":"1700000000.5"},
 {"path":"usr/bin","type":"dir"},
 {"path":"usr/bin/tool","size":1000,"mode":493,"xattrs":{"security.capability":"$CAP","user.x":"1","trusted.t":"t"}},
 {"path":"usr/lib","type":"dir"},
 {"path":"usr/lib/a","data":"aaa"},
 {"path":"usr/lib/b","size":200,"uid":7,"gid":8,"mtime":"1600000000.123456789"},
 {"path":"usr/lib/hl","type":"hardlink","link":"usr/lib/b"},
 {"path":"usr/lib/null","type":"char","major":1,"minor":3,"mode":438},
 {"path":"usr/lib/fifo","type":"fifo"},
 {"path":"usr/lib/$LONG","data":"long name"},
 {"path":"usr/lib/sym","type":"symlink","link":"../bin/tool","mode":511},
 {"path":"usr/lib/exact64","size":64},
 {"path":"usr/lib/just65","size":65},
 {"path":"boot","type":"dir"},{"path":"boot/vmlinuz","size":100},
 {"path":"sysroot","type":"dir"},
 {"path":"run","type":"dir"},{"path":"run/junk","data":"x"},
 {"path":"etc","type":"dir"},{"path":"etc/opq","type":"dir"},{"path":"etc/opq/old","data":"old"}]
J
cat > l2.json <<'J'
[{"path":"usr/lib/.wh.a"},
 {"path":"etc/opq/.wh..wh..opq"},
 {"path":"etc/opq/new","data":"new"},
 {"path":"usr/lib/hl2","type":"hardlink","link":"usr/lib/b"},
 {"path":"usr/lib/b2","size":300},
 {"path":"usr","type":"dir","mtime":"1800000000.25","mode":448},
 {"path":"/usr/lib/c","data":"abs"},
 {"path":"./usr/lib/d","data":"dot"}]
J
cat > l3.json <<'J'
[{"path":"usr/lib/.wh.b"},
 {"path":"etc/opq/later","data":"x"},
 {"path":"etc/opq/.wh..wh..opq"},
 {"path":"etc/opq/after","data":"y"}]
J
for i in 1 2 3; do $PY layer l$i.json l$i.tar; done
$PY image gz --tag t --gzip l1.tar l2.tar l3.tar
$PY image zst --tag t --zstd l1.tar l2.tar l3.tar
$PY image plain --tag t l1.tar l2.tar l3.tar

# The merged tree, rule by rule (see docs/formats/oci.md). If a change to this
# is intended, regenerate data/oci_layers.dump and say why in the commit.
d=$("$BOOTSEAL" image digest --xattrs keep-user --dumpfile got.dump oci:gz:t)
if cmp -s got.dump "$SRC/tests/interop/data/oci_layers.dump"; then pass; else
  fail "merged tree differs from data/oci_layers.dump:"; { diff "$SRC/tests/interop/data/oci_layers.dump" got.dump | head -20 >&2 || true; }; fi
check_eq "digest length (sha512)" 128 "${#d}"
check_eq "zstd layers" "$d" "$("$BOOTSEAL" image digest --xattrs keep-user oci:zst:t)"
check_eq "uncompressed layers" "$d" "$("$BOOTSEAL" image digest --xattrs keep-user oci:plain:t)"
skopeo copy -q oci:gz:t oci-archive:gz.tar:t
skopeo copy -q oci:gz:t docker-archive:gz-docker.tar
check_eq "oci-archive" "$d" "$("$BOOTSEAL" image digest --xattrs keep-user oci-archive:gz.tar:t)"
check_eq "docker-archive" "$d" "$("$BOOTSEAL" image digest --xattrs keep-user docker-archive:gz-docker.tar)"

# The default keeps only security.capability.
da=$("$BOOTSEAL" image digest --dumpfile allow.dump oci:gz:t)
[ "$da" != "$d" ] && pass || fail "allowlist digest equals keep-user digest"
grep -q 'user.x' allow.dump && fail "user.x kept under the allowlist" || pass
grep -q 'security.capability=' allow.dump && pass || fail "security.capability dropped"
grep -q 'trusted.t' got.dump && fail "trusted.t kept" || pass
# sha256 objects and image: the mkcomposefs-compatible digest.
d256=$("$BOOTSEAL" image digest --hash sha256 oci:gz:t)
check_eq "sha256 digest length" 64 "${#d256}"
"$BOOTSEAL" image digest --hash sha256 --image img256 oci:gz:t >/dev/null
check_eq "sha256 digest = fsverity digest of the image" "$d256" "$(fsverity digest --compact img256 2>/dev/null || "$BOOTSEAL" verity digest --compact img256)"
# V2 (composefs-rs's legacy layout): another digest of the same tree.
d2=$("$BOOTSEAL" image digest --format v2 oci:gz:t)
check_eq "V2 digest length" 128 "${#d2}"
[ "$d2" != "$da" ] && pass || fail "V2 digest equals V1 digest"
"$BOOTSEAL" image digest --format v2 --image img-v2 oci:gz:t >/dev/null
check_eq "V2 composefs_version" 2 "$(od -An -tu4 -j12 -N4 img-v2 | tr -d ' ')"

# Multi-arch: a nested image index under one tag; the host platform by
# default, --platform to choose, an error listing what is there otherwise.
echo '[{"path":"usr","type":"dir"},{"path":"usr/arm","data":"arm"},{"path":"boot","type":"dir"},{"path":"sysroot","type":"dir"}]' > arm.json
$PY layer arm.json arm.tar; $PY image armimg --tag t arm.tar
rm -rf multi; $PY multiarch multi t amd64=gz arm64=armimg
darm=$("$BOOTSEAL" image digest oci:armimg:t)
if [ "$(uname -m)" = x86_64 ]; then
  check_eq "multi-arch: host platform" "$da" "$("$BOOTSEAL" image digest oci:multi:t)"
fi
check_eq "multi-arch: --platform linux/arm64" "$darm" "$("$BOOTSEAL" image digest --platform linux/arm64 oci:multi:t)"
check_eq "multi-arch: --platform amd64" "$da" "$("$BOOTSEAL" image digest --platform amd64 oci:multi:t)"
"$BOOTSEAL" image diff --platform linux/arm64 oci:multi:t oci:armimg:t >/dev/null && pass || fail "image diff --platform"
expect_error "multi-arch: missing platform" 'no image for platform linux/s390x \(available: linux/amd64, linux/arm64\)' \
  "$BOOTSEAL" image digest --platform linux/s390x oci:multi:t

# Hostile and broken layers: an error naming the layer and the entry.
echo '[{"path":"usr","type":"dir"},{"path":"usr/../../etc/x","data":"p"}]' > bad1.json
echo '[{"path":"missing/f","data":"p"}]' > bad2.json
echo '[{"path":"usr","type":"dir"},{"path":"usr/l","type":"symlink","link":"/etc"},{"path":"usr/l/x","data":"p"}]' > bad3.json
echo '[{"path":"usr","type":"dir"},{"path":"usr/h","type":"hardlink","link":"usr/nothere"}]' > bad4.json
echo '[{"path":"usr","type":"dir"},{"path":"usr/h","type":"hardlink","link":"../../etc/passwd"}]' > bad5.json
for i in 1 2 3 4 5; do $PY layer bad$i.json bad$i.tar; $PY image bad$i --tag t bad$i.tar; done
expect_error "dotdot" 'layer sha256:[0-9a-f]{64}: entry usr/\.\./\.\./etc/x: .*"\.\."' "$BOOTSEAL" image digest oci:bad1:t
expect_error "missing parent" 'entry missing/f: parent directory "missing" does not exist' "$BOOTSEAL" image digest oci:bad2:t
expect_error "through symlink" 'entry usr/l/x: parent "l" is not a directory' "$BOOTSEAL" image digest oci:bad3:t
expect_error "dangling hardlink" 'entry usr/h: hardlink target "usr/nothere" does not exist' "$BOOTSEAL" image digest oci:bad4:t
expect_error "escaping hardlink" 'entry usr/h: hardlink target: .*"\.\."' "$BOOTSEAL" image digest oci:bad5:t
# Corrupted blob: the digest check aborts.
cp -r plain corrupt
blob=$(ls -S corrupt/blobs/sha256 | head -1)
printf 'X' | dd of=corrupt/blobs/sha256/$blob bs=1 seek=600 conv=notrunc status=none
expect_error "corrupted layer" "digest mismatch" "$BOOTSEAL" image digest oci:corrupt:t
# Damage that breaks the tar or gzip stream is reported as what it is: the
# blob does not match its digest (checked before the parse error is shown).
cp -r plain corrupt-hdr
blob=$(ls -S corrupt-hdr/blobs/sha256 | head -1)
printf 'XXXXXXXX' | dd of=corrupt-hdr/blobs/sha256/$blob bs=1 seek=1024 conv=notrunc status=none
expect_error "corrupted tar header" "blobs/sha256/$blob: digest mismatch: content is sha256:[0-9a-f]{64} \(reading the layer had failed: .*\)" \
  "$BOOTSEAL" image digest oci:corrupt-hdr:t
cp -r gz corrupt-gz
blob=$(ls -S corrupt-gz/blobs/sha256 | head -1)
printf 'XXXXXXXXXXXXXXXX' | dd of=corrupt-gz/blobs/sha256/$blob bs=1 seek=300 conv=notrunc status=none
expect_error "corrupted gzip layer" "blobs/sha256/$blob: digest mismatch" "$BOOTSEAL" image digest oci:corrupt-gz:t
"$BOOTSEAL" -q repo init --repo crepo
expect_error "import of a corrupted gzip layer" "blobs/sha256/$blob: digest mismatch" "$BOOTSEAL" image import --repo crepo oci:corrupt-gz:t
check_eq "no image from a corrupted layer" "" "$(ls crepo/composefs/images)"
"$BOOTSEAL" repo fsck --repo crepo >/dev/null && pass || fail "fsck after a refused import"
expect_error "unknown tag" 'no image tagged "nope"' "$BOOTSEAL" image digest oci:gz:nope
expect_error "missing layout" 'nonexistent-dir: no such file' "$BOOTSEAL" image digest oci:/nonexistent-dir
expect_error "unsupported transport" 'not supported' "$BOOTSEAL" image digest docker-daemon:x
# The boot transform applies when /boot and /sysroot exist (docs/formats/oci.md): a
# tree without them gets a digest as `image import` gives it, with a warning.
echo '[{"path":"usr","type":"dir"}]' > noboot.json; $PY layer noboot.json noboot.tar; $PY image noboot --tag t noboot.tar
if "$BOOTSEAL" image digest oci:noboot:t >noboot.out 2>noboot.err; then
  grep -q "boot transform not applied" noboot.err && pass || fail "no /boot: no warning: $(cat noboot.err)"
  "$BOOTSEAL" -q repo init --repo nbrepo
  check_eq "no /boot: import and digest agree" "$(cat noboot.out)" "$("$BOOTSEAL" -q image import --repo nbrepo oci:noboot:t 2>/dev/null)"
else
  fail "no /boot: digest refused: $(cat noboot.err)"
fi
finish
