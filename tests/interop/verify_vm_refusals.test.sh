#!/usr/bin/env bash
# Issue 17: for the VM tests whose boots are refused, `bootseal verify` predicts
# the refusal offline on the same disk, built by the same steps (no VM here):
#  - tests/vm/tiny_boot.test.sh: the unsigned UKI and the UKI with one byte of
#    .cmdline flipped (the firmware's "Access denied") fail uki.tiny.efi.signature,
#    which passes on the good disk; systemd-boot (BOOTX64.EFI) passes on all three.
#    (The tiny disk has no sealed root, so the root links fail on all three.)
#  - tests/vm/tampered_object_boot.test.sh, setup_root_boot.test.sh (no image, wrong
#    image digest, an object not its name) check their own predictions (verify on the
#    disks they boot, no extra boot).
#  - tests/vm/debian.test.sh's third boot: after the disk has booted, one byte of an
#    object flipped in place (debugfs bmap + dd) and another object replaced by other
#    content (debugfs rm + write); reading them gives EIO in the guest. The same steps
#    on the example disk here: verify --deep names both objects (debian.test.sh also
#    runs that verify on its own disk before the boot).
#  - tests/vm/lifecycle_boot.test.sh refuses no boot; tests/vm/arm64_boot.test.sh
#    checks its own predictions on the disks it boots (tampered UKI: the signature
#    link; wrong image: image-digest; a flipped object: objects-deep by name), and
#    tests/interop/verify_arm64.test.sh the arm64 links without a VM.
source "$SRC/tests/lib.sh"
need python3 sbverify mkfs.vfat mcopy mke2fs sfdisk debugfs depmod
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

# debian.test.sh's offline tamper, on the example disk (disk create of a mkroot tree
# with two canary files), by the same debugfs/dd steps.
. "$SRC/tests/lib/sealed_root.sh"
mkroot deb
mkdir -p deb/usr/share/bootseal
head -c 6000 /dev/urandom > deb/usr/share/bootseal/canary-inplace
head -c 7000 /dev/urandom > deb/usr/share/bootseal/canary-replaced
"$BOOTSEAL" -q repo init --repo repo >/dev/null
"$BOOTSEAL" -q image import --repo repo --ref deb "dir:$TMP/deb" >/dev/null 2>&1
"$BOOTSEAL" -q keys generate --dir dkeys >/dev/null
"$BOOTSEAL" -q disk create --repo repo --image deb --keys dkeys -o deb.raw >/dev/null
digest=$("$BOOTSEAL" -q image digest --repo repo deb)
"$BOOTSEAL" verify --deep deb.raw > deb-good.out 2>&1 && pass || fail "the untampered disk: $(grep -v ^PASS deb-good.out | head -3)"
start=$(sfdisk --json deb.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')
off=$((start * 512))
dev="deb.raw?offset=$off"
obj() { "$BOOTSEAL" composefs info dump "repo/composefs/images/$digest" | awk -v p="$1" '$1 == p {print $9}'; }
inplace=$(obj /usr/share/bootseal/canary-inplace); replaced=$(obj /usr/share/bootseal/canary-replaced)
[ -n "$inplace" ] && [ -n "$replaced" ] && pass || fail "canary objects not found in the image"
blk=$(debugfs -R "bmap /composefs/objects/$inplace 0" "$dev" 2>/dev/null)
[[ $blk =~ ^[0-9]+$ ]] && pass || fail "no block for the in-place canary"
b=$(dd if=deb.raw bs=1 skip=$((off + blk * 4096 + 100)) count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 1) & 255 )))" | dd of=deb.raw bs=1 seek=$((off + blk * 4096 + 100)) conv=notrunc status=none
head -c 8192 /dev/urandom > other
debugfs -w -R "rm /composefs/objects/$replaced" "$dev" >/dev/null 2>&1
debugfs -w -R "write $TMP/other /composefs/objects/$replaced" "$dev" >/dev/null 2>&1
set +e; "$BOOTSEAL" verify --deep deb.raw > deb-tampered.out 2>/dev/null; rc=$?; set -e
check_eq "debian-style tamper: exit" 1 "$rc"
grep -E "^FAIL +root\.${digest:0:12}\.objects-deep " deb-tampered.out | grep -F "object $inplace has fs-verity digest" >/dev/null && pass \
  || fail "the in-place flip not predicted: $(grep objects deb-tampered.out)"
grep -E "^FAIL +root\.${digest:0:12}\.objects " deb-tampered.out | grep -F "wrong size $replaced" >/dev/null && pass \
  || fail "the replaced object not predicted: $(grep objects deb-tampered.out)"
finish
