#!/usr/bin/env bash
# Issue 17: for the VM tests whose boots are refused, `bootseal verify` predicts
# the refusal offline on the same disk, built by the same steps (no VM here):
#  - tests/vm/tiny_boot.test.sh: the unsigned UKI and the UKI with one byte of
#    .cmdline flipped (the firmware's "Access denied") fail uki.tiny.efi.signature,
#    which passes on the good disk; systemd-boot (BOOTX64.EFI) passes on all three.
#    (The tiny disk has no sealed root, so the root links fail on all three.)
#  - tests/vm/tampered_object_boot.test.sh checks its own prediction (verify --deep
#    on the disk it boots).
source "$SRC/tests/lib.sh"
need python3 sbverify mkfs.vfat mcopy mke2fs sfdisk
. "$SRC/tests/vm/lib.sh"
for f in "$STUB" "$SDBOOT" "$KERNEL"; do [ -e "$f" ] || { echo "missing boot payload $f"; exit 1; }; done
cd "$TMP"
build_tiny "$TMP"
# As tiny_boot.test.sh: the signed UKI with the first byte of .cmdline flipped.
cp tiny.efi tiny-tampered.efi
python3 "$SRC/tests/lib/pe_edit.py" flip-section tiny-tampered.efi .cmdline 0
tiny_disk "$TMP/disk-tampered.img" "$TMP/sdboot.efi" "$TMP/tiny-tampered.efi"
v() { set +e; "$BOOTSEAL" verify --db keys/db.crt "$1" > "$2" 2>/dev/null; rc=$?; set -e; }
v disk.img good.out
grep -Eq '^PASS +uki\.tiny\.efi\.signature ' good.out && pass || fail "good tiny disk: signature not PASS: $(grep signature good.out)"
grep -Eq '^PASS +loader\.BOOTX64\.EFI ' good.out && pass || fail "good tiny disk: BOOTX64.EFI not PASS"
grep -Eq '^PASS +entry\.tiny\.efi ' good.out && pass || fail "good tiny disk: the type #2 entry tiny.efi not found: $(grep entr good.out)"
for d in unsigned tampered; do
  v disk-$d.img $d.out
  check_eq "$d tiny disk: exit" 1 "$rc"
  grep -Eq '^FAIL +uki\.tiny\.efi\.signature ' $d.out && pass || fail "$d: verify did not predict the firmware's refusal: $(grep signature $d.out)"
  grep -Eq '^PASS +loader\.BOOTX64\.EFI ' $d.out && pass || fail "$d: BOOTX64.EFI not PASS"
done
grep -q 'no signature' unsigned.out && pass || fail "unsigned: reason"
grep -Eq '^FAIL +uki\.tiny\.efi\.signature .*hash' tampered.out && pass || fail "tampered: reason is not the image hash: $(grep signature tampered.out)"
finish
