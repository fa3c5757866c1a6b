#!/bin/bash
# Sparse tar entries as GNU tar writes them (--sparse with the old GNU format
# and pax sparse versions 0.0, 0.1 and 1.0): holes at the start, in the
# middle, at the end, and a file that is all hole. Each layer gives the tree
# of the directory it was made from (same boot digest, same object digests),
# and the objects stored by an import hold exactly the files' bytes.
source "$SRC/tests/lib.sh"
need python3 tar fsverity
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
mkdir -p root/usr root/boot root/sysroot
truncate -s 10M root/usr/mid-and-end-holes
printf 'hello' | dd of=root/usr/mid-and-end-holes bs=1 seek=4096 conv=notrunc status=none
printf 'mid' | dd of=root/usr/mid-and-end-holes bs=1 seek=5000000 conv=notrunc status=none
truncate -s 300000 root/usr/leading-hole
printf 'end' | dd of=root/usr/leading-hole bs=1 seek=299997 conv=notrunc status=none
truncate -s 1M root/usr/all-hole
truncate -s 20M root/usr/big-all-hole
head -c 100000 /dev/urandom > root/usr/dense
want=$("$BOOTSEAL" image digest --dumpfile dir.dump root)
files() { grep '^/usr/' "$1" | cut -d' ' -f1,2,11; }  # path, size, object digest
files dir.dump > want.files
check_eq "object digests in the directory's tree" 5 "$(grep -c ' [0-9a-f]\{128\}$' want.files)"

for fmt in gnu pax-0.0 pax-0.1 pax-1.0; do
  if [ $fmt = gnu ]; then
    tar --format=gnu --sparse -cf $fmt.tar -C root .
  else
    tar --format=pax --sparse --sparse-version=${fmt#pax-} -cf $fmt.tar -C root .
  fi
  # The layer really holds sparse entries (GNU tar only writes them for files with holes).
  [ "$(stat -c %s $fmt.tar)" -lt 2000000 ] && pass || fail "$fmt: layer is not sparse ($(stat -c %s $fmt.tar) bytes)"
  $PY image img-$fmt --tag t $fmt.tar
  d=$("$BOOTSEAL" image digest --dumpfile $fmt.dump oci:img-$fmt:t) || { fail "$fmt: image digest failed"; continue; }
  files $fmt.dump > $fmt.files
  if cmp -s want.files $fmt.files; then pass; else fail "$fmt: file contents differ: $(diff want.files $fmt.files | head -4)"; fi
  # pax keeps nanosecond mtimes, so the whole tree equals the directory's.
  [ $fmt = gnu ] || check_eq "$fmt: digest = the directory's" "$want" "$d"
done

# Import: objects hold the expanded bytes (fs-verity digest = their name).
export BOOTSEAL_REPO=$TMP/repo
"$BOOTSEAL" -q repo init
check_eq "import of a sparse layer" "$want" "$("$BOOTSEAL" -q image import --ref s oci:img-pax-1.0:t)"
for f in mid-and-end-holes leading-hole all-hole big-all-hole dense; do
  obj=$(awk -v p="/usr/$f" '$1==p {print $3}' want.files)
  o="repo/composefs/objects/${obj:0:2}/${obj:2}"
  cmp -s "$o" root/usr/$f && pass || fail "object of $f differs from the file"
  check_eq "fs-verity digest of the $f object" "sha512:$obj" "$(fsverity digest --hash-alg=sha512 "$o" | cut -d' ' -f1)"
done
check_eq "warm re-import (replayed record)" "$want" "$("$BOOTSEAL" -q image import --ref s2 oci:img-pax-1.0:t)"
"$BOOTSEAL" -q image import --ref g oci:img-gnu:t >/dev/null && pass || fail "import of the old-GNU sparse layer"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after sparse imports"
finish
