#!/bin/bash
# bootseal-setup-root in a real boot: a SHA-512 composefs root (examples/tiny/mkroot.sh)
# on a second disk found by its Discoverable Partitions type, under Secure Boot.
#  1. first boot enables fs-verity (objects, then image), checks the digest, mounts the
#     overlay with verity=require, /etc and /var writable, /usr read-only;
#  2. second boot: no verity pass, /var persisted; setup-root's time is printed;
#  3. a cmdline digest that names no image stops in setup-root;
#  4. an EROFS image whose fs-verity digest does not match stops in setup-root;
#  5. an object replaced by other content gives EIO when read in the booted root.
set -euo pipefail
. "$SRC/tests/vm/lib.sh"
need_payloads
for t in mkfs.erofs mkfs.ext4 fsverity setfattr; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
SETUP_ROOT=$BUILD/src/initramfs/bootseal-setup-root
[ -x "$SETUP_ROOT" ] || { echo "missing $SETUP_ROOT"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/setup_root_boot}; mkdir -p "$LOGDIR"

"$TINY/mkroot.sh" "$T/r" sha512
D=$(cat "$T/r/digest")
[ ${#D} = 128 ] || { echo "bad digest $D"; exit 1; }
"$BOOTSEAL" -q initrd build --kernel-modules-from "$PAY/kernel" \
  --setup-root "$SETUP_ROOT" -o "$T/initrd.cpio"
"$BOOTSEAL" -q keys generate --dir "$T/keys" --name "bootseal setup-root test"
"$BOOTSEAL" -q sign --key "$T/keys/db.key" --cert "$T/keys/db.crt" --output "$T/sdboot.efi" "$SDBOOT"

# disk_for NAME CMDLINE: a signed UKI with this cmdline on an ESP disk $T/NAME.img.
# The ESP-only disk stays mkdisk.sh: `disk assemble` always adds a root-x86-64 partition,
# which would compete with the real root disk that setup-root discovers by that type.
disk_for() {
  tiny_uki "$T/$1-u.efi" "$T/initrd.cpio" "$2"
  "$BOOTSEAL" -q sign --key "$T/keys/db.key" --cert "$T/keys/db.crt" --output "$T/$1.efi" "$T/$1-u.efi"
  "$TINY/mkdisk.sh" "$T/$1.img" "$T/sdboot.efi" "$T/$1.efi"
}
BASE="console=ttyS0 panic=-1 no_timer_check bootseal.on-failure=halt"
disk_for good "$BASE composefs.digest=v1-sha512-12:$D"
boot() { local n=$1 d=$2 root=$3; shift 3
  vm_boot "$n" "$T/$d.img" --secure-boot --enroll "$T/keys" --extra-disk "$root" --timeout 180 "$@"; }

# 1 + 2: first and second boot of the same root disk.
cp "$T/r/root.img" "$T/root1.img"
boot first good "$T/root1.img" --expect SEALED-ROOT-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
L=$LOGDIR/first.serial.log
grep -aq "bootseal-setup-root: first boot: enabled fs-verity on 5 files" "$L" || { echo "no first-boot verity pass"; exit 1; }
grep -aq "sealed root $D verified and mounted from /dev/vdb1" "$L"
grep -aq "SEALED: root mount: composefs / overlay ro,.*lowerdir=/run/bootseal/cfs::/sysroot/composefs/objects.*verity=require" "$L"
grep -aq "SEALED: hello: hello from a sealed composefs object, sha512" "$L"
for w in "/var writable" "/etc writable" "/usr read-only" "/sysroot reachable" "hostname: tiny-sealed"; do
  grep -aq "SEALED: $w" "$L" || { echo "missing: $w"; exit 1; }
done
boot second good "$T/root1.img" --expect SEALED-ROOT-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
L=$LOGDIR/second.serial.log
grep -aq "first boot: enabled" "$L" && { echo "verity pass ran again on the second boot"; exit 1; }
grep -aq "SEALED: /var persisted" "$L" || { echo "/var did not persist"; exit 1; }
# Timing: printed in full; the budget is asserted for setup-root's own work,
# i.e. without waiting for the disk to appear and without the kernel's ext4 mount
# (both are device/kernel time and, under TCG on 2 shared cores, 50-150 ms each).
grep -a "bootseal-setup-root: sealed root" "$L" | tr -d '\r'
steps=$(grep -a "bootseal-setup-root: step times" "$L" | tr -d '\r' | sed 's/.*(ms)://')
echo "setup-root step times, second boot (ms):$steps"
own=$(tr ' ' '\n' <<<"$steps" | grep = | grep -v -e '^find-root=' -e '^mount-root=' | cut -d= -f2 | awk '{ s += $1 } END { print s }')
total=$(tr ' ' '\n' <<<"$steps" | grep = | cut -d= -f2 | awk '{ s += $1 } END { print s }')
echo "setup-root: total $total ms, own work (without root device wait and ext4 mount) $own ms"
# Budget 250 ms: 60-110 ms measured under TCG on 2 shared cores (the upper end while other
# builds ran); a regression to seconds (a sleep, a serial scan) still fails.
awk -v o="$own" 'BEGIN { exit !(o < 250) }' || { echo "setup-root's own work took $own ms (budget 250 ms)"; exit 1; }

# 3. A digest that names no image.
disk_for noimage "$BASE composefs.digest=v1-sha512-12:$(printf '%128s' | tr ' ' 0)"
cp "$T/r/root.img" "$T/root3.img"
boot noimage noimage "$T/root3.img" --expect "bootseal-setup-root: FAILED at find image" --fail-on SEALED-ROOT-OK

# 4. An image whose content differs from the sealed one (same name).
mkdir -p "$T/r4"; cp -a "$T/r/rootfs" "$T/r4/"
printf 'X' | dd of="$T/r4/rootfs/composefs/images/$D" bs=1 seek=2000 conv=notrunc status=none
mkfs.ext4 -q -b 4096 -O verity -d "$T/r4/rootfs" "$T/r4/root.ext4" 64M
truncate -s $((66 * 1024 * 1024)) "$T/root4.img"
printf 'label: gpt\nstart=2048, size=131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n' | sfdisk -q "$T/root4.img"
dd if="$T/r4/root.ext4" of="$T/root4.img" bs=1M seek=1 conv=notrunc status=none
boot badimage good "$T/root4.img" --expect "bootseal-setup-root: FAILED at verify image: digest mismatch" --fail-on SEALED-ROOT-OK

# 5. An object replaced by other content (verity gets enabled on the wrong content): EIO.
mkdir -p "$T/r5"; cp -a "$T/r/rootfs" "$T/r5/"
hd=$(fsverity digest --hash-alg=sha512 --compact "$T/r/tree/usr/share/bootseal/hello.txt")
obj="$T/r5/rootfs/composefs/objects/${hd:0:2}/${hd:2}"
sed 's/hello/HELLO/' "$T/r/tree/usr/share/bootseal/hello.txt" > "$obj"
mkfs.ext4 -q -b 4096 -O verity -d "$T/r5/rootfs" "$T/r5/root.ext4" 64M
truncate -s $((66 * 1024 * 1024)) "$T/root5.img"
printf 'label: gpt\nstart=2048, size=131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n' | sfdisk -q "$T/root5.img"
dd if="$T/r5/root.ext4" of="$T/root5.img" bs=1M seek=1 conv=notrunc status=none
boot tampered good "$T/root5.img" --expect SEALED-ROOT-OK --fail-on "bootseal-setup-root: FAILED"
grep -aq "SEALED: READ-EIO: .*Input/output error" "$LOGDIR/tampered.serial.log" || { echo "tampered object was readable"; exit 1; }
grep -aq "SEALED: hello:" "$LOGDIR/tampered.serial.log" && { echo "tampered content was served"; exit 1; }
grep -aq "overlayfs: .*wrong fs-verity digest" "$LOGDIR/tampered.serial.log" || echo "note: no overlayfs digest message on the console"
echo ok
