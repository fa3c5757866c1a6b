#!/bin/bash
# bootseal-setup-root in a real boot: a SHA-512 composefs root (examples/tiny/mkroot.sh)
# on a second disk found by its Discoverable Partitions type, under Secure Boot.
#  1. first boot enables fs-verity (objects, then image), checks the digest, mounts the
#     overlay with verity=require, /etc and /var writable, /usr read-only;
#  2. second boot: no verity pass, /var persisted; setup-root's time is printed and its
#     own work asserted within 100 ms (both boots);
#  3. a cmdline digest that names no image stops in setup-root;
#  4. an EROFS image whose fs-verity digest does not match stops in setup-root;
#  5. an object replaced by other content before the first boot is refused by name
#     in the first-boot pass (issue 17);
#  and `bootseal verify` predicts the refusals of 3-5 on the same disks.
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
grep -aqE "bootseal-setup-root: first boot: enabled fs-verity on 5 files \(4\.0 MB\) in [0-9.]+ s with [0-9]+ threads" "$L" || { echo "no first-boot verity pass"; exit 1; }
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
# The first boot's init left the root clean (remounted read-only before its marker):
# this mount replays no journal, so the timing below is that of an orderly boot.
grep -aq "SEALED: /sysroot remounted read-only" "$LOGDIR/first.serial.log" || { echo "first boot did not remount /sysroot ro"; exit 1; }
grep -aq "EXT4-fs (vdb1): recovery complete" "$L" && { echo "second boot replayed the ext4 journal"; exit 1; }
# Timing (the issue's measure): from setup-root's start to the exec of init, without a
# first-boot verity pass, as setup-root prints it, for both boots, with the steps.
# Asserted: setup-root's own work (every step but find-root, whose GPT reads are disk
# reads, and mount-root, the kernel's ext4 mount) within 100 ms, and the whole under
# 1 s (a sleep or a serial scan would break that). Under TCG on 2 shared cores each
# synchronous disk read costs 1-7 ms and the whole swings with the host's load
# (95-150 ms measured, of which find-root and mount-root 40-80 ms; docs/vm.md, "Timing").
budget() {  # budget LOG NAME
  local line steps total own
  line=$(grep -a "bootseal-setup-root: sealed root" "$1" | tr -d '\r')
  total=$(sed -n 's/.* in \([0-9.]*\) ms (start to exec of init without a verity pass.*/\1/p' <<<"$line")
  steps=$(grep -a "bootseal-setup-root: step times" "$1" | tr -d '\r' | sed 's/.*(ms)://')
  own=$(tr ' ' '\n' <<<"$steps" | grep = | grep -v -e '^find-root=' -e '^mount-root=' -e '^verity-pass=' | cut -d= -f2 | awk '{ s += $1 } END { print s }')
  [ -n "$total" ] && [ -n "$own" ] || { echo "$2: no setup-root timing in $1"; return 1; }
  echo "setup-root $2: start to exec of init $total ms (without a verity pass); own work $own ms; steps (ms):$steps"
  awk -v o="$own" 'BEGIN { exit !(o <= 100) }' || { echo "$2: setup-root's own work took $own ms (budget 100 ms)"; return 1; }
  awk -v t="$total" 'BEGIN { exit !(t < 1000) }' || { echo "$2: setup-root took $total ms to exec init"; return 1; }
}
budget "$LOGDIR/first.serial.log" "first boot"
budget "$LOGDIR/second.serial.log" "second boot"
grep -a "first boot: enabled fs-verity" "$LOGDIR/first.serial.log" | tr -d '\r'

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

# 5. An object replaced by other content before the first boot: the first-boot pass
#    measures it while enabling fs-verity, finds it is not its name, and refuses to
#    switch root naming it (issue 17; before, the boot came up and reads gave EIO).
mkdir -p "$T/r5"; cp -a "$T/r/rootfs" "$T/r5/"
hd=$(fsverity digest --hash-alg=sha512 --compact "$T/r/tree/usr/share/bootseal/hello.txt")
obj="$T/r5/rootfs/composefs/objects/${hd:0:2}/${hd:2}"
sed 's/hello/HELLO/' "$T/r/tree/usr/share/bootseal/hello.txt" > "$obj"
mkfs.ext4 -q -b 4096 -O verity -d "$T/r5/rootfs" "$T/r5/root.ext4" 64M
truncate -s $((66 * 1024 * 1024)) "$T/root5.img"
printf 'label: gpt\nstart=2048, size=131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n' | sfdisk -q "$T/root5.img"
dd if="$T/r5/root.ext4" of="$T/root5.img" bs=1M seek=1 conv=notrunc status=none
boot tampered good "$T/root5.img" --expect "refusing to switch root" --fail-on SEALED-ROOT-OK  # the end of the line: vm run stops at the text
grep -aq "FAILED at verify objects: object composefs/objects/${hd:0:2}/${hd:2} measures fs-verity digest" "$LOGDIR/tampered.serial.log" \
  || { echo "the refusal does not name the object"; grep -a "setup-root" "$LOGDIR/tampered.serial.log"; exit 1; }
grep -aq "SEALED: hello:" "$LOGDIR/tampered.serial.log" && { echo "tampered content was served"; exit 1; }

# bootseal verify predicted each refusal offline, on the same ESP and root disks (issue 17).
predict() {  # predict ESPDISK ROOTDISK LINK-REGEX [--deep]
  local out rc=0
  out=$("$BOOTSEAL" verify --db "$T/keys/db.crt" ${4:-} "$T/$1.img" "$2" 2>/dev/null) || rc=$?
  [ $rc = 1 ] || { echo "verify $1 $2: exit $rc"; echo "$out"; exit 1; }
  grep -Eq "^FAIL +$3" <<<"$out" || { echo "verify $1 $2 did not predict the refusal ($3):"; echo "$out"; exit 1; }
}
predict noimage "$T/root3.img" 'root\.0{12}\.image .*missing'
predict good "$T/root4.img" "root\.${D:0:12}\.image-digest "
predict good "$T/root5.img" "root\.${D:0:12}\.objects-deep .*${hd:0:2}/${hd:2}" --deep
echo ok
