#!/usr/bin/env bash
# bootseal disk assemble: the GPT, the FAT32 ESP and the ext4 root are read back
# by the real tools (sfdisk, fsck.vfat, mtools, e2fsck, debugfs) without mounting.
source "$SRC/tests/lib.sh"
need sfdisk fsck.vfat mtype e2fsck debugfs
cd "$TMP"
mkdir -p esp/EFI/BOOT esp/loader/entries root/composefs/objects/ab root/state/deploy
head -c 300000 /dev/urandom > esp/EFI/BOOT/BOOTX64.EFI
printf 'timeout 0\n' > esp/loader/loader.conf
printf 'title x\nefi /EFI/Linux/x.efi\n' > esp/loader/entries/e.conf
head -c 50000 /dev/urandom > root/composefs/objects/ab/cdef
printf 'hello\n' > root/state/deploy/origin
setfattr -n user.test -v 42 root/state/deploy/origin
chmod 0600 root/state/deploy/origin
"$BOOTSEAL" disk assemble --esp esp --root root -o disk.raw --esp-size 64M >/dev/null

# GPT: two partitions with the Discoverable Partitions type GUIDs, 1 MiB aligned.
json=$(sfdisk --json disk.raw)
types=$(echo "$json" | python3 -c 'import json,sys; print(" ".join(p["type"] for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
check_eq "partition types" "C12A7328-F81F-11D2-BA4B-00A0C93EC93B 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709" "$types"
starts=$(echo "$json" | python3 -c 'import json,sys; print(" ".join(str(p["start"]) for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
check_eq "partition starts" "2048 133120" "$starts"
read -r rstart rsize < <(echo "$json" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][1]; print(p["start"], p["size"])')

# ESP: a clean FAT32 with the files byte for byte.
dd if=disk.raw of=esp.img bs=512 skip=2048 count=131072 status=none
fsck.vfat -n esp.img >/dev/null && pass || fail "fsck.vfat reports errors"
MTOOLS_SKIP_CHECK=1 mtype -i esp.img ::/EFI/BOOT/BOOTX64.EFI > back.efi
cmp -s back.efi esp/EFI/BOOT/BOOTX64.EFI && pass || fail "BOOTX64.EFI differs after the round trip"
check_eq "entry" "$(cat esp/loader/entries/e.conf)" "$(MTOOLS_SKIP_CHECK=1 mtype -i esp.img ::/loader/entries/e.conf)"

# Root: a clean ext4 with the verity feature, files, modes and xattrs kept.
dd if=disk.raw of=root.img bs=512 skip="$rstart" count="$rsize" status=none
e2fsck -fn root.img >/dev/null 2>&1 && pass || fail "e2fsck reports errors"
dumpe2fs -h root.img 2>/dev/null | grep -q 'Filesystem features:.*verity' && pass || fail "ext4 lacks the verity feature"
check_eq "block size" "4096" "$(dumpe2fs -h root.img 2>/dev/null | awk '/^Block size:/{print $3}')"
debugfs -R "cat /composefs/objects/ab/cdef" root.img 2>/dev/null > obj
cmp -s obj root/composefs/objects/ab/cdef && pass || fail "object differs after the round trip"
check_eq "mode" "0600" "$(debugfs -R 'stat /state/deploy/origin' root.img 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p' | head -1)"
debugfs -R "ea_get /state/deploy/origin user.test" root.img 2>/dev/null | grep -q 42 && pass || fail "xattr lost"

# Bad input: too small a disk, an ESP too small for FAT32, a missing directory.
expect_error "disk too small" "too small" "$BOOTSEAL" disk assemble --esp esp --root root -o small.raw --size 10M
[ ! -e small.raw ] && pass || fail "a failed assemble left small.raw behind"
expect_error "ESP too small" "needs at least 64 MiB" "$BOOTSEAL" disk assemble --esp esp --root root -o x.raw --esp-size 8M
[ ! -e x.raw ] && pass || fail "a failed assemble left x.raw behind"
expect_error "missing dir" "esp-nope" "$BOOTSEAL" disk assemble --esp esp-nope --root root -o y.raw
finish
