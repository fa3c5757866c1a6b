#!/bin/bash
# Real OCI images built with umoci (init/new/insert, several layers with
# whiteouts, opaque directories and hardlinks), copied by skopeo between oci:,
# oci-archive: and docker-archive:: the same boot digest from every
# transport, equal to the digest of the tree `umoci unpack` extracts, and the
# repository import of each transport yielding the same image.
source "$SRC/tests/lib.sh"
need umoci skopeo
cd "$TMP"
mkdir -p base/usr/bin base/usr/lib base/boot base/sysroot base/etc/conf.d base/run base/var/tmp
echo "small" > base/etc/hostname
head -c 300000 /dev/urandom > base/usr/bin/prog
ln base/usr/bin/prog base/usr/bin/prog-link
ln -s prog base/usr/bin/prog-sym
for i in $(seq 1 50); do head -c $((i * 97)) /dev/urandom > base/usr/lib/lib$i.so; done
echo a > base/etc/conf.d/a; echo b > base/etc/conf.d/b
setfattr -n user.note -v hello base/usr/bin/prog 2>/dev/null || true
# Several xattrs set out of name order (listxattr order differs from a layer's).
for x in user.zz user.aa user.mm; do setfattr -n $x -v $x base/usr/lib/lib1.so; done
touch -d '2024-01-02 03:04:05.123456789' base/usr/bin/prog
mkdir -p upd/conf.d; echo c > upd/conf.d/c
head -c 5000 /dev/urandom > new-lib

umoci init --layout img
umoci new --image img:t
umoci insert --image img:t base / >/dev/null
umoci insert --image img:t new-lib /usr/lib/lib7.so >/dev/null        # replaces a file
umoci insert --image img:t --whiteout /usr/lib/lib3.so >/dev/null    # whiteout
umoci insert --image img:t --opaque upd/conf.d /etc/conf.d >/dev/null # opaque dir
umoci insert --image img:t --whiteout /usr/bin/prog-link >/dev/null  # hardlink removal
nlayers=$(python3 -c 'import json,sys; i=json.load(open("img/index.json")); print(len(i["manifests"]))')
check_eq "one manifest" 1 "$nlayers"

d=$("$BOOTSEAL" image digest --dumpfile oci.dump oci:img:t)
check_eq "digest length" 128 "${#d}"
grep -q '^/usr/lib/lib3.so ' oci.dump && fail "whiteout not applied" || pass
grep -q '^/etc/conf.d/a ' oci.dump && fail "opaque dir kept old entry" || pass
grep -q '^/etc/conf.d/c ' oci.dump && pass || fail "opaque dir lost new entry"
grep -q '^/usr/lib/lib7.so 5000 ' oci.dump && pass || fail "replaced file has wrong size"
grep -q '^/usr/bin/prog 300000 100644 1 ' oci.dump && pass || fail "nlink after hardlink removal"
grep -q '^/boot 0 40755 2 ' oci.dump && pass || fail "/boot not emptied"

skopeo copy -q oci:img:t oci-archive:img.tar:t
skopeo copy -q oci:img:t docker-archive:img-docker.tar
check_eq "oci-archive digest" "$d" "$("$BOOTSEAL" image digest oci-archive:img.tar:t)"
check_eq "docker-archive digest" "$d" "$("$BOOTSEAL" image digest docker-archive:img-docker.tar)"
# skopeo can also recompress: a zstd copy is a different blob, the same tree.
if skopeo copy -q --dest-compress-format zstd oci:img:t oci:img-zstd:t 2>/dev/null; then
  check_eq "zstd re-compressed digest" "$d" "$("$BOOTSEAL" image digest oci:img-zstd:t)"
fi

# umoci unpack: the directory gives the same digest (and no differences).
umoci unpack --image img:t bundle >/dev/null
check_eq "umoci unpack digest" "$d" "$("$BOOTSEAL" image digest bundle/rootfs)"
check_eq "umoci unpack digest (dir:)" "$d" "$("$BOOTSEAL" image digest dir:bundle/rootfs)"
check_eq "keep-user digest" "$("$BOOTSEAL" image digest --xattrs keep-user oci:img:t)" \
  "$("$BOOTSEAL" image digest --xattrs keep-user bundle/rootfs)"
"$BOOTSEAL" image diff oci:img:t bundle/rootfs >diff.out && pass || fail "image diff reports differences: $(head -5 diff.out)"
# keep-user: several xattrs per file, compared in name order on both sides.
"$BOOTSEAL" image diff --xattrs keep-user oci:img:t bundle/rootfs >diff.out && pass || fail "image diff --xattrs keep-user: $(head -4 diff.out)"
"$BOOTSEAL" image digest --xattrs keep-user --dumpfile dir-user.dump base >/dev/null
grep -q '^/usr/lib/lib1.so .* user.aa=user.aa user.mm=user.mm user.zz=user.zz$' dir-user.dump && pass || fail "xattrs of a directory tree not in name order: $(grep '^/usr/lib/lib1.so ' dir-user.dump)"
# image diff names the first differing paths.
echo changed > bundle/rootfs/etc/hostname
expect_error "diff exit status" "differ in 1 paths" "$BOOTSEAL" image diff oci:img:t bundle/rootfs
grep -q '^+ /etc/hostname ' "$TMP/out" && pass || fail "diff did not name /etc/hostname"

# Import from every transport: one image, same digest as `image digest`.
export BOOTSEAL_REPO=$TMP/repo
"$BOOTSEAL" -q repo init
for s in oci:img:t oci-archive:img.tar:t docker-archive:img-docker.tar; do
  check_eq "import $s" "$d" "$("$BOOTSEAL" -q image import --ref "r-${s%%:*}" "$s")"
done
check_eq "one image in the repository" 1 "$(ls "$TMP/repo/composefs/images" | wc -l)"
check_eq "image file is named by its digest" "$d" "$(ls "$TMP/repo/composefs/images")"
check_eq "image digest of a ref" "$d" "$("$BOOTSEAL" image digest r-oci)"
"$BOOTSEAL" --json image ls > ls.json
python3 - ls.json <<'P' && pass || fail "image ls JSON"
import json, sys
l = json.load(open(sys.argv[1]))
oci = [x for x in l if "r-oci" in x["refs"]][0]
assert any(m.startswith("sha256:") for m in oci["manifest_digests"]), oci  # one row per image: every source's manifest
assert oci["architecture"] == "amd64", oci
assert oci["created"], oci
P
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after imports"
# The image in the repository is a valid composefs image describing the tree.
if "$BOOTSEAL" composefs info dump "$TMP/repo/composefs/images/$d" > info.dump 2>info.err; then
  grep -q '^/usr/bin/prog 300000 ' info.dump && pass || fail "stored image lacks /usr/bin/prog"
else
  fail "composefs info dump of the stored image: $(cat info.err)"
fi
finish
