#!/usr/bin/env bash
# bootseal disk create on a small synthetic image (the payload kernel and a
# module subset, no VM): the disk's layout as bootc's composefs backend has it,
# a signed UKI carrying the image digest, and clear errors, with nothing
# written, for a missing kernel module, a disk too small and an ESP too small
# for two UKIs.
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"

mkroot good
"$BOOTSEAL" -q repo init --repo repo >/dev/null
"$BOOTSEAL" -q image import --repo repo --ref good "dir:$TMP/good" >/dev/null 2>&1
"$BOOTSEAL" -q keys generate --dir keys >/dev/null
digest=$("$BOOTSEAL" -q image digest --repo repo good)
[ ${#digest} -eq 128 ] && pass || fail "image digest is not SHA-512: $digest"

# Bad input first: nothing may be written.
expect_error "ESP too small for two UKIs" "esp-size 20 MiB is too small: two UKIs" \
  "$BOOTSEAL" disk create --repo repo --image good --keys keys -o small-esp.raw --esp-size 20M
[ ! -e small-esp.raw ] && pass || fail "small-esp.raw left behind"
expect_error "disk too small" "too small for this image" \
  "$BOOTSEAL" disk create --repo repo --image good --keys keys -o small.raw --size 40M
[ ! -e small.raw ] && pass || fail "small.raw left behind"
expect_error "no such image" "no image \"nope\"" "$BOOTSEAL" disk create --repo repo --image nope --keys keys -o x.raw
expect_error "no keys" "db.key in the key set" "$BOOTSEAL" disk create --repo repo --image good --keys nokeys -o x.raw
mkroot noerofs
rm -rf noerofs/usr/lib/modules/$KVER/kernel/fs/erofs
depmod -b noerofs/usr "$KVER" 2>/dev/null || depmod -b noerofs "$KVER"
"$BOOTSEAL" -q image import --repo repo --ref noerofs "dir:$TMP/noerofs" >/dev/null 2>&1
expect_error "kernel without erofs" "erofs" "$BOOTSEAL" disk create --repo repo --image noerofs --keys keys -o noerofs.raw
[ ! -e noerofs.raw ] && pass || fail "noerofs.raw left behind"

# The good disk.
"$BOOTSEAL" --json disk create --repo repo --image good --keys keys -o disk.raw > out.json
check_eq "digest sealed" "$digest" "$(python3 -c 'import json; print(json.load(open("out.json"))["digest"])')"
"$BOOTSEAL" -q verify --cert keys/db.crt disk.raw.uki.efi >/dev/null && pass || fail "UKI not signed by db"
check_eq "cmdline digest" "$digest" "$("$BOOTSEAL" karg parse "$(python3 -c 'import json; print(json.load(open("out.json"))["cmdline"])')" | awk '{print $3}')"
read -r estart esize rstart < <(sfdisk --json disk.raw | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"]; print(p[0]["start"], p[0]["size"], p[1]["start"])')
dd if=disk.raw of=esp.img bs=512 skip="$estart" count="$esize" status=none
export MTOOLS_SKIP_CHECK=1
mtype -i esp.img "::/EFI/Linux/bootc/bootc_composefs-$digest.efi" > esp-uki.efi
cmp -s esp-uki.efi disk.raw.uki.efi && pass || fail "the ESP's UKI differs from disk.raw.uki.efi"
mtype -i esp.img ::/EFI/BOOT/BOOTX64.EFI > sdboot.efi
"$BOOTSEAL" -q verify --cert keys/db.crt sdboot.efi >/dev/null && pass || fail "systemd-boot not signed by db"
mtype -i esp.img ::/loader/entries/bootc_tiny-1-0.conf | grep -q "^efi /EFI/Linux/bootc/bootc_composefs-$digest.efi$" && pass || fail "BLS entry"
mtype -i esp.img ::/loader/loader.conf | grep -q "^secure-boot-enroll force$" && pass || fail "loader.conf"
for k in PK KEK db; do cmp -s <(mtype -i esp.img "::/loader/keys/auto/$k.auth") "keys/$k.auth" && pass || fail "$k.auth"; done
dev="disk.raw?offset=$((rstart * 512))"
debugfs -R "stat /composefs/images/$digest" "$dev" 2>/dev/null | grep -q "Type: regular" && pass || fail "image missing on the root"
debugfs -R "cat /state/deploy/$digest/$digest.origin" "$dev" 2>/dev/null | grep -q "^digest=$digest$" && pass || fail "origin file"
check_eq "var symlink" "../../os/default/var" "$(debugfs -R "stat /state/deploy/$digest/var" "$dev" 2>/dev/null | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p')"
check_eq "etc content" "hello" "$(debugfs -R "cat /state/deploy/$digest/etc/motd" "$dev" 2>/dev/null)"
debugfs -R "cat /composefs/meta.json" "$dev" 2>/dev/null | grep -q 'fsverity-sha512-12' && pass || fail "meta.json"
finish
