#!/usr/bin/env bash
# arm64 disks offline (issue 18): `bootseal verify` of the disk `disk create` seals for
# an arm64 image passes every link (BOOTAA64.EFI, systemd-bootaa64.efi, the UKI's aa64
# stub and its .linux, the arm64 root partition type), and names what breaks on
# tampered or mismatched disks; upgrade/switch refuse an image or UKI of the other
# architecture in one line with nothing staged; and the bad-input rows of the issue:
# an x86-64 setup-root for an arm64 image, no arm64 setup-root at all, and tools/build
# without the cross compiler.
source "$SRC/tests/lib.sh"
need sfdisk python3 depmod busybox mke2fs debugfs xz
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
A=$PAY/arm64
K=$A/kernel
for f in "$K/vmlinuz" "$A/sdboot/usr/lib/systemd/boot/efi/systemd-bootaa64.efi" "$A/busybox/bin/busybox"; do
  [ -e "$f" ] || { echo "FAIL: missing arm64 payload $f: run tools/fetch-payloads"; exit 1; }
done
SR=$BUILD/aarch64/bootseal-setup-root
[ -x "$SR" ] || { echo "FAIL: missing $SR: tools/build cross-compiles it (needs g++-aarch64-linux-gnu: tools/setup)"; exit 1; }
source "$SRC/tests/lib/sealed_root.sh"   # mkroot (x86-64)
cd "$TMP"
B() { "$BOOTSEAL" "$@"; }
KVER=$(cat "$K/kver")

# mk64 DIR VERSION: an arm64 busybox root with the cloud-arm64 kernel and its modules.
mk64() {
  local r=$1 m=$1/usr/lib/modules/$KVER km=$K/lib/modules/$KVER/kernel
  mkdir -p "$r"/{etc,var,boot,sysroot,usr/bin} "$m/kernel/drivers"
  printf 'ID=tiny\nVERSION_ID=%s\n' "$2" > "$r/usr/lib/os-release"
  cp "$K/vmlinuz" "$m/vmlinuz"
  for d in fs lib crypto arch; do [ -d "$km/$d" ] && cp -a "$km/$d" "$m/kernel/"; done
  cp -a "$km/drivers/block" "$m/kernel/drivers/"
  [ -d "$km/drivers/virtio" ] && cp -a "$km/drivers/virtio" "$m/kernel/drivers/"
  cp "$K/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$m/"
  depmod -b "$r/usr" "$KVER"
  cp "$A/busybox/bin/busybox" "$r/usr/bin/busybox"
  ln -s busybox "$r/usr/bin/sh"
  for i in $(seq 300); do echo "an object of the arm64 image $i"; done > "$r/usr/bin/data"
}
mk64 a1 1
mk64 a2 2
B -q keys generate --dir keys >/dev/null
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref a1 "dir:$TMP/a1" >/dev/null 2>&1
B -q image import --repo repo --ref a2 "dir:$TMP/a2" >/dev/null 2>&1
D=$(B -q image digest --repo repo a1)
B -q disk create --repo repo --image a1 --keys keys -o disk.raw --work-dir w --keep-work >/dev/null
uki=$(cd w/esp && ls EFI/Linux/bootc/*.efi)
ukiname=${uki##*/}
sd=${D:0:12}

run_verify() { local n=$1; shift; set +e; B verify "$@" > "$n.out" 2> "$n.err"; rc=$?; set -e; }
# fails_with NAME LINK TEXT ARGS...: exit 1 and LINK is FAIL with TEXT in its reason.
fails_with() {
  local n=$1 link=$2 text=$3; shift 3
  run_verify "$n" "$@"
  check_eq "$n: exit code" 1 "$rc"
  grep -E "^FAIL +$(printf '%s' "$link" | sed 's/[.]/[.]/g') " "$n.out" | grep -F -- "$text" >/dev/null && pass \
    || fail "$n: no 'FAIL $link ... $text' in: $(grep -v '^PASS' "$n.out" | head -5)"
}

# 1. The arm64 disk: every link PASS, the arm64 ones by name.
run_verify good disk.raw
check_eq "good: exit code" 0 "$rc"
grep -qv '^PASS ' good.out && fail "good arm64 disk: not all PASS: $(grep -v '^PASS ' good.out | head -3)" || pass
for l in loader.BOOTAA64.EFI loader.systemd-bootaa64.efi "uki.$ukiname.signature" "uki.$ukiname.kernel" \
         "uki.$ukiname.composefs" disk.root "root.$sd.image-digest" "root.$sd.objects"; do
  grep -qE "^PASS +$l " good.out && pass || fail "good arm64 disk: no PASS line for $l"
done
grep -E "^PASS +uki\.$ukiname\.kernel " good.out | grep -q "arm64 stub" && pass || fail "uki kernel link does not name arm64: $(grep kernel good.out)"
run_verify good-arch disk.raw --arch arm64
check_eq "--arch arm64: exit code" 0 "$rc"
# ESP and root as directories, too.
run_verify good-dirs w/esp w/root
check_eq "ESP + root directories: exit code" 0 "$rc"

# 2. Broken: the wrong --arch; an x86-64 systemd-boot as BOOTAA64.EFI; an x86-64 UKI
# on the arm64 disk; an arm64 disk whose root has the x86-64 type.
fails_with arch-x86 loader.BOOTX64.EFI "BOOTX64.EFI" disk.raw --arch x86-64
grep -E "^FAIL +disk\.root " arch-x86.out | grep -q "arm64 root type" && pass || fail "--arch x86-64 on the arm64 disk: the root type is not named: $(grep disk.root arch-x86.out)"
cp -a w/esp e
B -q sign --key keys/db.key --cert keys/db.crt --output e/EFI/BOOT/BOOTAA64.EFI "$PAY/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
fails_with x86-loader loader.BOOTAA64.EFI "an x86-64 PE (Machine 0x8664), but the disk is for arm64" e w/root
rm -rf e; cp -a w/esp e
B -q uki build --linux "$PAY/kernel/vmlinuz" --cmdline "composefs=$D" --os-release "ID=tiny" --output x86.efi
B -q sign --key keys/db.key --cert keys/db.crt --output "e/$uki" x86.efi
fails_with x86-uki "uki.$ukiname.kernel" "the UKI's stub is an x86-64 PE" e w/root
B -q disk assemble --esp w/esp --root w/root -o wrongtype.raw --esp-size 128M --arch x86-64
fails_with wrong-root-type disk.root "the root partition has the x86-64 root type" wrongtype.raw
# A tampered UKI byte: the signature link fails on the arm64 disk as on x86-64.
rm -rf e; cp -a w/esp e
/usr/bin/python3 - "e/$uki" <<'PY'
import sys; p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 1; open(p, 'wb').write(d)
PY
fails_with tampered-uki "uki.$ukiname.signature" "" e w/root

# 3. upgrade/switch: the ESP boots arm64 (BOOTAA64.EFI).
S=(--sysroot "$TMP/w/root" --esp "$TMP/w/esp")
snap() { (cd w && find esp root/state -type f -print0 | sort -z | xargs -0 -r sha256sum) > "$1"; }
snap before.sum
expect_error "switch --arch x86-64 onto an arm64 system" \
  "switch dir:.*a2: the image is x86-64 \(--arch x86-64\) but this system boots arm64 \(.*EFI/BOOT/BOOTAA64.EFI\): nothing was staged" \
  B -q switch "${S[@]}" --keys keys --arch x86-64 "dir:$TMP/a2"
# One error line (a warning that /tmp has no fs-verity may come before it).
[ "$(grep -v 'warning: ' "$TMP/err" | wc -l)" -eq 1 ] && pass || fail "switch --arch: more than one line: $(cat "$TMP/err")"
B -q sign --key keys/db.key --cert keys/db.crt --output x86s.efi x86.efi
expect_error "switch with an x86-64 UKI onto an arm64 system" \
  "x86s.efi: the UKI is x86-64 but this system boots arm64 \(.*BOOTAA64.EFI\): nothing was changed" \
  B -q switch "${S[@]}" --db keys/db.crt --uki x86s.efi "dir:$TMP/a2"
snap after.sum
cmp -s before.sum after.sum && pass || fail "a refused switch changed the ESP or state/"
# The right architecture stages (the UKI sealed here for arm64).
B -q switch "${S[@]}" --keys keys --arch arm64 "dir:$TMP/a2" >/dev/null 2>switch.err && pass || fail "switch to a2 (arm64): $(cat switch.err)"

# 4. Bad input: an x86-64 setup-root for an arm64 image; no arm64 setup-root at all;
# tools/build without the cross compiler.
expect_error "x86-64 setup-root for an arm64 disk" "setup-root .* is an x86-64 executable but the target is arm64" \
  B -q disk create --repo repo --image a1 --keys keys -o bad.raw --setup-root "$BUILD/src/initramfs/bootseal-setup-root"
[ ! -e bad.raw ] && pass || fail "a refused disk create left bad.raw"
# A bootseal binary with no build/aarch64 beside it (the cross build hidden).
mkdir -p lone/bin && cp "$BOOTSEAL" lone/bin/bootseal
if ls /usr/lib/bootseal/aarch64/bootseal-setup-root /usr/libexec/bootseal/aarch64/bootseal-setup-root >/dev/null 2>&1; then
  echo "(an arm64 setup-root is installed on this machine: the missing-setup-root row is not checked)"
else
  expect_error "no arm64 setup-root" \
    "bootseal-setup-root for arm64.*tools/build cross-compiles it when aarch64-linux-gnu-g\+\+ is installed" \
    lone/bin/bootseal -q disk create --repo repo --image a1 --keys keys -o bad.raw
  [ "$(grep -v 'warning: ' "$TMP/err" | wc -l)" -eq 1 ] && pass || fail "missing setup-root: more than one line: $(cat "$TMP/err")"
fi
# tools/build on a PATH without aarch64-linux-gnu-g++ (cmake and ninja stubbed: nothing is built).
mkdir -p nocross
for t in bash env dirname; do ln -s "$(command -v $t)" nocross/$t; done
printf '#!/bin/sh\nexit 0\n' > nocross/cmake; cp nocross/cmake nocross/ninja; chmod +x nocross/cmake nocross/ninja
env -i PATH="$TMP/nocross" BUILD_DIR="$TMP/nocross-build" "$TMP/nocross/bash" "$SRC/tools/build" > build.out 2> build.err \
  && pass || fail "tools/build without the cross compiler failed: $(cat build.err)"
grep -q "aarch64-linux-gnu-g++ not found: no arm64 bootseal-setup-root (tools/setup installs g++-aarch64-linux-gnu)" build.err \
  && pass || fail "tools/build does not say the cross compiler is missing: $(cat build.err)"
finish
