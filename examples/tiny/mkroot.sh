#!/bin/bash
# Builds a tiny sealed root disk the way composefs lays it out, without mounting
# anything, until bootseal's own composefs/disk commands exist:
#   mkroot.sh OUTDIR [sha256|sha512]
# Writes OUTDIR/root.img (GPT, one partition of the Discoverable Partitions x86-64 root
# type, ext4 -b 4096 -O verity), OUTDIR/digest (fs-verity digest of the EROFS image),
# OUTDIR/image.cfs and OUTDIR/rootfs/ (the ext4 content).
# Every regular file of the image becomes objects/<xx>/<rest> (named by its fs-verity
# digest) and, in the EROFS, a sparse stand-in with trusted.overlay.metacopy and
# trusted.overlay.redirect (needs root for trusted.* xattrs).
set -euo pipefail
out=$1 alg=${2:-sha512}
here=$(cd "$(dirname "$0")" && pwd)
case $alg in sha256) mc=00240001 ;; sha512) mc=00440002 ;; *) echo "bad alg $alg" >&2; exit 2 ;; esac
rm -rf "$out/tree" "$out/stage" "$out/rootfs"; mkdir -p "$out/tree" "$out/stage" "$out/rootfs/composefs/objects" "$out/rootfs/composefs/images"

# The OS tree: busybox, the init, a data file; the directories setup-root expects.
t=$out/tree
mkdir -p "$t"/usr/bin "$t"/usr/share/bootseal "$t"/etc "$t"/var "$t"/sysroot "$t"/boot "$t"/proc "$t"/sys "$t"/dev "$t"/run "$t"/tmp
cp /bin/busybox "$t/usr/bin/busybox"
for a in sh cat echo grep sed touch poweroff sync ls mount; do ln -s busybox "$t/usr/bin/$a"; done
ln -s usr/bin "$t/bin"; ln -s usr/bin "$t/sbin"
cp "$here/sealed-init" "$t/usr/bin/init"
printf 'hello from a sealed composefs object, %s\n' "$alg" > "$t/usr/share/bootseal/hello.txt"
echo tiny-sealed > "$t/etc/hostname"

# Stage the EROFS tree: directories and symlinks as they are, regular files as
# metacopy stand-ins pointing at their objects.
(cd "$t" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
  p=${p#./}
  if [ -L "$t/$p" ]; then ln -s "$(readlink "$t/$p")" "$out/stage/$p"
  elif [ -d "$t/$p" ]; then mkdir -p "$out/stage/$p"; chmod "$(stat -c %a "$t/$p")" "$out/stage/$p"
  else
    d=$(fsverity digest --hash-alg="$alg" --compact "$t/$p")
    mkdir -p "$out/rootfs/composefs/objects/${d:0:2}"
    cp "$t/$p" "$out/rootfs/composefs/objects/${d:0:2}/${d:2}"
    truncate -s "$(stat -c %s "$t/$p")" "$out/stage/$p"; chmod "$(stat -c %a "$t/$p")" "$out/stage/$p"
    setfattr -n trusted.overlay.metacopy -v "0x$mc$d" "$out/stage/$p"
    setfattr -n trusted.overlay.redirect -v "/${d:0:2}/${d:2}" "$out/stage/$p"
  fi
done
find "$out/stage" -exec touch -h -d @0 {} +
mkfs.erofs --quiet -T0 --all-root -U 6b0f4a4e-3c1d-4e5b-9a7e-b0075ea1c0f5 "$out/image.cfs" "$out/stage"
digest=$(fsverity digest --hash-alg="$alg" --compact "$out/image.cfs")
echo "$digest" > "$out/digest"
cp "$out/image.cfs" "$out/rootfs/composefs/images/$digest"
mkdir -p "$out/rootfs/state/deploy/$digest/etc" "$out/rootfs/state/os/default/var"
echo tiny-sealed > "$out/rootfs/state/deploy/$digest/etc/hostname"
chmod 0700 "$out/rootfs/composefs"

# ext4 with 4 KiB blocks and the verity feature, in a GPT partition of the DPS root type.
rm -f "$out/root.ext4" "$out/root.img"
mkfs.ext4 -q -b 4096 -O verity -L root -U 6b0f4a4e-3c1d-4e5b-9a7e-b0075ea1e474 -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 \
  -d "$out/rootfs" "$out/root.ext4" 64M
truncate -s $((66 * 1024 * 1024)) "$out/root.img"
printf 'label: gpt\nlabel-id: 6B0F4A4E-3C1D-4E5B-9A7E-B0075EA1D15D\nstart=2048, size=131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=6B0F4A4E-3C1D-4E5B-9A7E-B0075EA1A007, name="root"\n' \
  | sfdisk -q "$out/root.img"
dd if="$out/root.ext4" of="$out/root.img" bs=1M seek=1 conv=notrunc status=none
rm -f "$out/root.ext4"
