#!/usr/bin/env bash
# bootseal disk create on a small synthetic image (the payload kernel and a
# module subset, no VM): the disk's layout as bootc's composefs backend has it,
# a signed UKI carrying the image digest, and clear errors, with nothing
# written, for missing kernel modules, a kernel without erofs or overlay, a disk
# too small and an ESP too small for two UKIs; --image as a transport source.
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

mkroot nooverlay
rm -rf nooverlay/usr/lib/modules/$KVER/kernel/fs/overlayfs
depmod -b nooverlay/usr "$KVER" 2>/dev/null || depmod -b nooverlay "$KVER"
"$BOOTSEAL" -q image import --repo repo --ref nooverlay "dir:$TMP/nooverlay" >/dev/null 2>&1
expect_error "kernel without overlay" "'overlay' not found" "$BOOTSEAL" disk create --repo repo --image nooverlay --keys keys -o nooverlay.raw
[ ! -e nooverlay.raw ] && pass || fail "nooverlay.raw left behind"
mkroot nomods
find nomods/usr/lib/modules/$KVER -mindepth 1 ! -name vmlinuz -exec rm -rf {} +
"$BOOTSEAL" -q image import --repo repo --ref nomods "dir:$TMP/nomods" >/dev/null 2>&1
expect_error "kernel modules missing" "modules.dep" "$BOOTSEAL" disk create --repo repo --image nomods --keys keys -o nomods.raw
[ ! -e nomods.raw ] && pass || fail "nomods.raw left behind"
[ -z "$(ls -A "$TMP" | grep -E '^\.?(nooverlay|nomods|noerofs|small|small-esp)\.raw')" ] && pass || fail "partial output files left: $(ls -A "$TMP")"

# --image as a source in transport syntax: imported first, into --repo if given, else
# (no repository anywhere) into a temporary one; the same digest either way.
BOOTSEAL_REPO=$TMP/no-such-repo "$BOOTSEAL" --json disk create --image "dir:$TMP/good" --keys keys -o src.raw > src.json
check_eq "disk create --image dir: (temporary repository)" "$digest" "$(python3 -c 'import json; print(json.load(open("src.json"))["digest"])')"
[ ! -e "$TMP/no-such-repo" ] && pass || fail "a repository was created at \$BOOTSEAL_REPO"
"$BOOTSEAL" -q repo init --repo repo2 >/dev/null
"$BOOTSEAL" --json disk create --repo repo2 --image "dir:$TMP/good" --keys keys -o src2.raw > src2.json
check_eq "disk create --image dir: --repo" "$digest" "$(python3 -c 'import json; print(json.load(open("src2.json"))["digest"])')"
[ -f "repo2/composefs/images/$digest" ] && pass || fail "the source was not imported into --repo"
expect_error "bad source" "nope" "$BOOTSEAL" disk create --repo repo2 --image "oci:$TMP/nope:latest" --keys keys -o bad.raw
[ ! -e bad.raw ] && pass || fail "bad.raw left behind"
rm -f src.raw src2.raw src.raw.uki.efi src2.raw.uki.efi

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
mtype -i esp.img ::/EFI/systemd/systemd-bootx64.efi > sdboot2.efi
cmp -s sdboot.efi sdboot2.efi && pass || fail "EFI/systemd/systemd-bootx64.efi differs from EFI/BOOT/BOOTX64.EFI"
mtype -i esp.img ::/loader/entries/bootc_tiny-1-0.conf | grep -q "^efi /EFI/Linux/bootc/bootc_composefs-$digest.efi$" && pass || fail "BLS entry"
mtype -i esp.img ::/loader/loader.conf | grep -q "^secure-boot-enroll if-safe$" && pass || fail "loader.conf: if-safe by default"
for k in PK KEK db; do cmp -s <(mtype -i esp.img "::/loader/keys/auto/$k.auth") "keys/$k.auth" && pass || fail "$k.auth"; done
dev="disk.raw?offset=$((rstart * 512))"
debugfs -R "stat /composefs/images/$digest" "$dev" 2>/dev/null | grep -q "Type: regular" && pass || fail "image missing on the root"
debugfs -R "cat /state/deploy/$digest/$digest.origin" "$dev" 2>/dev/null | grep -q "^digest=$digest$" && pass || fail "origin file"
check_eq "var symlink" "../../os/default/var" "$(debugfs -R "stat /state/deploy/$digest/var" "$dev" 2>/dev/null | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p')"
check_eq "etc content" "hello" "$(debugfs -R "cat /state/deploy/$digest/etc/motd" "$dev" 2>/dev/null)"
debugfs -R "cat /composefs/meta.json" "$dev" 2>/dev/null | grep -q 'fsverity-sha512-12' && pass || fail "meta.json"
finish
