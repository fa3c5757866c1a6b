#!/usr/bin/env bash
# bootseal verify: the disk `disk create` writes for the tiny example passes
# every link (as a raw disk image and as its staged ESP + root directories);
# then, one at a time, every way to break the chain names the failing link and
# exits 1; bad disks are FAIL lines naming the structure (exit 1, no crash).
source "$SRC/tests/lib.sh"
need sfdisk python3 depmod busybox mke2fs openssl virt-fw-vars
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
PE_EDIT="python3 $SRC/tests/lib/pe_edit.py"

mkroot good
"$BOOTSEAL" -q repo init --repo repo >/dev/null
"$BOOTSEAL" -q image import --repo repo --ref good "dir:$TMP/good" >/dev/null 2>&1
mkroot other 2
echo other > other/etc/motd; head -c 5000 /dev/urandom > other/etc/blob
"$BOOTSEAL" -q image import --repo repo --ref other "dir:$TMP/other" >/dev/null 2>&1
"$BOOTSEAL" -q keys generate --dir keys >/dev/null
digest=$("$BOOTSEAL" -q image digest --repo repo good)
other=$("$BOOTSEAL" -q image digest --repo repo other)
"$BOOTSEAL" -q disk create --repo repo --image good --keys keys -o disk.raw --work-dir work --keep-work >/dev/null
[ -d work/esp ] && [ -d work/root ] && pass || fail "disk create --keep-work left no staged ESP and root"
uki=EFI/Linux/bootc/bootc_composefs-$digest.efi
ukiname=bootc_composefs-$digest.efi
sd=${digest:0:12}

# run_verify NAME ARGS...: output in NAME.out, exit code in $rc.
run_verify() { local n=$1; shift; set +e; "$BOOTSEAL" verify "$@" > "$n.out" 2> "$n.err"; rc=$?; set -e; }
# all_pass NAME ARGS...: exit 0, every line PASS.
all_pass() {
  local n=$1; shift
  run_verify "$n" "$@"
  check_eq "$n: exit code" 0 "$rc"
  if grep -qv '^PASS ' "$n.out"; then fail "$n: not all PASS: $(grep -v '^PASS ' "$n.out" | head -3)"; else pass; fi
}
# breaks NAME LINK TEXT ARGS...: exit 1, LINK is FAIL with TEXT in its reason, and the
# failing links are exactly those listed in $ALSO (space separated) besides LINK.
breaks() {
  local n=$1 link=$2 text=$3; shift 3
  run_verify "$n" "$@"
  check_eq "$n: exit code" 1 "$rc"
  if grep -E "^FAIL +$(printf '%s' "$link" | sed 's/[.]/[.]/g') " "$n.out" | grep -F -- "$text" >/dev/null; then pass
  else fail "$n: no 'FAIL $link ... $text' in: $(grep -v '^PASS' "$n.out" | head -5)"; fi
  local got want
  got=$(awk '$1 == "FAIL" {print $2}' "$n.out" | sort | tr '\n' ' ')
  want=$(printf '%s\n' "$link" ${ALSO:-} | sort | tr '\n' ' ')
  check_eq "$n: failing links" "$want" "$got"
  grep -q "would not boot sealed" "$n.err" && pass || fail "$n: no summary on stderr: $(cat "$n.err")"
}

# --- The good disk: every link passes, read without mounting, without root.
all_pass good-disk disk.raw
for l in firmware.keys.auto.PK firmware.keys.auto.KEK firmware.keys.auto.db firmware.db loader.BOOTX64.EFI \
         loader.systemd-bootx64.efi loader.conf entries "uki.$ukiname.signature" "uki.$ukiname.composefs" \
         "uki.$ukiname.pcrsig" "root.$sd.image" "root.$sd.image-digest" "root.$sd.objects" "root.$sd.deployment"; do
  grep -qE "^PASS +$l " good-disk.out && pass || fail "good disk: no PASS line for $l"
done
# Boot order: disk, firmware, loader, entries, UKI, root.
check_eq "links in boot order" "disk firmware loader entries entry uki root" \
  "$(awk '{print $2}' good-disk.out | sed 's/\..*//' | uniq | tr '\n' ' ' | sed 's/ $//')"
all_pass good-db --db keys/db.crt disk.raw
all_pass good-dirs work/esp work/root
all_pass good-deep --deep disk.raw
grep -qE "^PASS +root.$sd.objects-deep .*MB/s" good-deep.out && pass || fail "--deep: no MB/s: $(grep objects-deep good-deep.out)"
"$BOOTSEAL" --json verify disk.raw > good.json
python3 - good.json <<'PY' && pass || fail "--json: not one object per link"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) > 10, lines
assert all(set(l) == {"link", "verdict", "reason", "details"} for l in lines), lines[0]
assert all(l["verdict"] == "PASS" for l in lines)
PY
# db from an OVMF variable store (virt-fw-vars enrolls as `vm run --enroll` does).
OWNER=a0baa8a3-041d-48a8-bc87-c36d121b5e3d
OVMF=/usr/share/OVMF/OVMF_VARS_4M.fd
virt-fw-vars -i $OVMF -o vars.fd --set-pk $OWNER keys/PK.crt --add-kek $OWNER keys/KEK.crt --add-db $OWNER keys/db.crt --sb >/dev/null 2>&1
all_pass good-vars --vars vars.fd disk.raw
grep -qE "^PASS +firmware.vars .*PK, 1 KEK, 1 db" good-vars.out && pass || fail "--vars: $(grep firmware good-vars.out)"
"$BOOTSEAL" -q keys generate --dir keys3 --subject "CN=other db" >/dev/null
virt-fw-vars -i $OVMF -o vars3.fd --set-pk $OWNER keys3/PK.crt --add-kek $OWNER keys3/KEK.crt --add-db $OWNER keys3/db.crt --sb >/dev/null 2>&1
ALSO="loader.systemd-bootx64.efi uki.$ukiname.signature" breaks vars-other-db loader.BOOTX64.EFI "" --vars vars3.fd disk.raw
run_verify vars-empty --vars $OVMF disk.raw
grep -qE "^WARN +firmware.vars .*setup mode" vars-empty.out && pass || fail "--vars of an empty store: $(grep firmware vars-empty.out)"
# The PE case of today's `verify --cert` stays.
"$BOOTSEAL" -q verify --cert keys/db.crt disk.raw.uki.efi && pass || fail "verify --cert UKI"
"$BOOTSEAL" -q verify --db keys/db.crt disk.raw.uki.efi && pass || fail "verify --db UKI"

# --- `/` of a booted system: the ESP at efi/, the physical root at sysroot/, db and
# SecureBoot from an efivarfs copy (--efivars: 4 attribute bytes, then the variable).
mkdir -p sys/efi sys/sysroot efivars
cp -a work/esp/. sys/efi/; cp -a work/root/. sys/sysroot/
openssl x509 -in keys/db.crt -outform DER -out db.der
python3 - db.der efivars <<'PY'
import struct, sys, uuid
der = open(sys.argv[1], "rb").read()
x509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072").bytes_le
owner = uuid.UUID("a0baa8a3-041d-48a8-bc87-c36d121b5e3d").bytes_le
esl = x509 + struct.pack("<III", 28 + 16 + len(der), 0, 16 + len(der)) + owner + der
open(sys.argv[2] + "/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", "wb").write(struct.pack("<I", 0x27) + esl)
open(sys.argv[2] + "/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", "wb").write(struct.pack("<I", 6) + b"\x01")
PY
all_pass booted-system --efivars efivars sys
grep -qE "^PASS +target +system sys: ESP sys/efi, root sys/sysroot" booted-system.out && pass || fail "booted system: $(grep target booted-system.out)"
grep -qE "^PASS +firmware.db .*efivarfs" booted-system.out && pass || fail "--efivars: $(grep firmware.db booted-system.out)"
grep -qE "^PASS +firmware.secureboot " booted-system.out && pass || fail "--efivars: no SecureBoot line"
printf '\x06\x00\x00\x00\x00' > efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
run_verify booted-sb-off --efivars efivars sys
grep -qE "^WARN +firmware.secureboot .*disabled" booted-sb-off.out && pass || fail "SecureBoot off: $(grep secureboot booted-sb-off.out)"
# A directory shaped like no booted system: refused with the reason.
mkdir -p empty/etc
ALSO="firmware.db root.image" breaks not-a-system target "no ESP found at efi/, boot/efi/ or boot/" empty
# A partition image of its own as the ESP or root of a pair (what /dev/sda1 /dev/sda2 are).
dd if=disk.raw of=esp.part bs=512 skip="$(sfdisk --json disk.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')" \
  count="$(sfdisk --json disk.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["size"])')" status=none
dd if=disk.raw of=root.part bs=512 skip="$(sfdisk --json disk.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')" \
  count="$(sfdisk --json disk.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["size"])')" conv=sparse status=none
all_pass partitions esp.part root.part
all_pass partition-root work/esp root.part

# --- Breakages, one at a time, on copies of the staged ESP and root.
fresh() { rm -rf e r; cp -a work/esp e; cp -a work/root r; }

fresh; "$BOOTSEAL" -q unsign e/$uki
breaks unsigned-uki "uki.$ukiname.signature" "no signature" e r

fresh; $PE_EDIT flip-section e/$uki .cmdline 141   # in "console=ttyS0", after composefs=<digest>
breaks cmdline-byte "uki.$ukiname.signature" "hash" e r

"$BOOTSEAL" -q keys generate --dir keys2 --subject "CN=not in db" >/dev/null
fresh; "$BOOTSEAL" -q sign --in-place --key keys2/db.key --cert keys2/db.crt e/$uki
breaks foreign-key "uki.$ukiname.signature" "" e r

fresh; "$BOOTSEAL" -q unsign e/EFI/BOOT/BOOTX64.EFI
breaks sdboot-unsigned loader.BOOTX64.EFI "no signature" e r
fresh; "$BOOTSEAL" -q unsign e/EFI/systemd/systemd-bootx64.efi
breaks sdboot2-unsigned loader.systemd-bootx64.efi "no signature" e r

fresh; rm r/composefs/images/$digest
breaks missing-image "root.$sd.image" "missing" e r

fresh; cp repo/composefs/images/$other r/composefs/images/$digest
ALSO="root.$sd.objects" breaks swapped-image "root.$sd.image-digest" "not the" e r

fresh; obj=$(cd r/composefs/objects && find . -type f -size +1k -print -quit | sed 's|^\./||')
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "r/composefs/objects/$obj"
all_pass modified-object-shallow e r
breaks modified-object "root.$sd.objects-deep" "${obj}" --deep e r
grep -q "used by /" modified-object.out && pass || fail "modified object: the image paths using it are not named"

fresh; rm "r/composefs/objects/$obj"
breaks missing-object "root.$sd.objects" "missing ${obj}" e r

fresh; rm e/$uki
ALSO="root.image" breaks missing-uki "entry.$(ls e/loader/entries)" "does not exist" e r

# An expired db: the same keys' certificates re-issued valid 2020-01-01 .. 2020-01-02.
"$BOOTSEAL" -q keys generate --dir keys-old --timestamp "2020-01-01 00:00:00" --days 1 >/dev/null
fresh
for f in PK KEK db; do cp keys-old/$f.auth e/loader/keys/auto/$f.auth; done
for f in e/$uki e/EFI/BOOT/BOOTX64.EFI e/EFI/systemd/systemd-bootx64.efi; do
  "$BOOTSEAL" -q sign --in-place --key keys-old/db.key --cert keys-old/db.crt "$f"; done
breaks expired-db firmware.db "expired on 2020-01-02" e r

fresh; $PE_EDIT rename-section e/EFI/BOOT/BOOTX64.EFI .sbat .nosbat
"$BOOTSEAL" -q sign --in-place --key keys/db.key --cert keys/db.crt e/EFI/BOOT/BOOTX64.EFI
breaks missing-sbat loader.BOOTX64.EFI "no .sbat" e r
fresh; $PE_EDIT rename-section e/$uki .sbat .nosbat
"$BOOTSEAL" -q sign --in-place --key keys/db.key --cert keys/db.crt e/$uki
breaks uki-missing-sbat "uki.$ukiname.sections" "missing .sbat" e r

fresh
printf 'require console=ttyS0\nforbid init\nrequire lockdown=integrity   # not in the example\n' > policy
breaks policy "uki.$ukiname.policy" "'lockdown=integrity' is required but missing" --policy policy e r
printf 'require console=ttyS0\nforbid init\n' > policy-ok
all_pass policy-ok --policy policy-ok e r
printf 'allow x\n' > policy-bad
run_verify policy-bad --policy policy-bad e r
check_eq "a malformed policy is bad input" 3 "$rc"

# UKIs rebuilt from the sealed one's sections: with a .pcrsig, and with composefs=?.
$PE_EDIT extract work/esp/$uki .linux linux.img
$PE_EDIT extract work/esp/$uki .initrd initrd.img
$PE_EDIT extract work/esp/$uki .osrel osrel.txt
$PE_EDIT extract work/esp/$uki .cmdline cmdline.txt
$PE_EDIT extract work/esp/$uki .uname uname.txt
openssl genrsa -out pcr1.key 2048 2>/dev/null; openssl rsa -in pcr1.key -pubout -out pcr1.pub 2>/dev/null
openssl genrsa -out pcr2.key 2048 2>/dev/null; openssl rsa -in pcr2.key -pubout -out pcr2.pub 2>/dev/null
rebuild() {  # rebuild OUT CMDLINE [uki build options]
  local out=$1 cmd=$2; shift 2
  "$BOOTSEAL" -q uki build --stub "$STUB" --linux linux.img --initrd initrd.img --os-release @osrel.txt \
    --uname "$(tr -d '\0' < uname.txt)" --cmdline "$cmd" --sign-key keys/db.key --sign-cert keys/db.crt -o "$out" "$@"
}
cmd=$(tr -d '\0' < cmdline.txt)
rebuild pcr1.efi "$cmd" --pcr-private-key pcr1.key --pcr-public-key pcr1.pub
rebuild pcr2.efi "$cmd" --pcr-private-key pcr2.key --pcr-public-key pcr2.pub
fresh; cp pcr1.efi e/$uki
all_pass pcrsig-ok --pcr-public-key pcr1.pub e r
breaks pcrsig-other-pubkey "uki.$ukiname.pcrsig" "not the --pcr-public-key" --pcr-public-key pcr2.pub e r
# .pcrsig of the pcr2 UKI inside the pcr1 UKI (same length): signed by another key than .pcrpkey.
$PE_EDIT extract pcr2.efi .pcrsig pcrsig2.json
fresh; cp pcr1.efi e/$uki; $PE_EDIT replace-section e/$uki .pcrsig pcrsig2.json
"$BOOTSEAL" -q sign --in-place --key keys/db.key --cert keys/db.crt e/$uki
breaks pcrsig-other-key "uki.$ukiname.pcrsig" "signed by a key other than .pcrpkey" e r
fresh; cp work/esp/$uki e/$uki
breaks pcrsig-required "uki.$ukiname.pcrsig" "no .pcrsig" --pcr-public-key pcr1.pub e r

fresh; rebuild e/$uki "${cmd/composefs=/composefs=?}"
breaks insecure "uki.$ukiname.composefs" "insecure" e r

# --- The same breakages read from disk images (disk assemble from the modified dirs).
fresh; rm "r/composefs/objects/$obj"
"$BOOTSEAL" -q disk assemble --esp e --root r -o broken.raw
breaks disk-missing-object "root.$sd.objects" "missing ${obj}" broken.raw
fresh; "$BOOTSEAL" -q unsign e/$uki
"$BOOTSEAL" -q disk assemble --esp e --root r -o broken2.raw
breaks disk-unsigned-uki "uki.$ukiname.signature" "no signature" broken2.raw

# --- Bad input: FAIL lines naming the structure, exit 1, never a crash.
head -c 1048576 /dev/urandom > random.bin
ALSO="firmware.db root" breaks not-a-disk disk.gpt "no partition table" random.bin
truncate -s 200M nogpt.raw
printf 'label: gpt\n, 100M, 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q nogpt.raw
ALSO="disk.root firmware.db root" breaks gpt-without-esp disk.esp "no EFI System Partition" nogpt.raw
read -r estart esize rstart < <(sfdisk --json disk.raw | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"]; print(p[0]["start"], p[0]["size"], p[1]["start"])')
cp --sparse=always disk.raw trunc.raw; truncate -s $(( (rstart + 1000) * 512 )) trunc.raw
ALSO="firmware.db root" breaks truncated disk.gpt "truncated?" trunc.raw
cp --sparse=always disk.raw badfat.raw
printf '\x00\x00\x00' | dd of=badfat.raw bs=1 seek=$(( estart * 512 + 11 )) conv=notrunc status=none
ALSO="firmware.db root.image" breaks corrupt-fat disk.esp "bytes per sector" badfat.raw
cp --sparse=always disk.raw badext4.raw
dd if=/dev/zero of=badext4.raw bs=1024 count=1 seek=$(( rstart / 2 + 1 )) conv=notrunc status=none
ALSO="root" breaks corrupt-ext4 disk.root "superblock" badext4.raw
# Structures past the superblocks: the FAT's allocation table zeroed (every file's
# cluster chain reaches a free cluster), the ext4 group descriptors zeroed. Exit 1 and
# a FAIL line naming the structure; never a crash.
struct_fails() {  # struct_fails NAME TEXT FILE
  run_verify "$1" "$3"
  check_eq "$1: exit code" 1 "$rc"
  if grep -E '^FAIL ' "$1.out" | grep -F -- "$2" >/dev/null; then pass; else fail "$1: no FAIL line with '$2': $(grep -v '^PASS' "$1.out" | head -5)"; fi
}
cp --sparse=always disk.raw badfat2.raw
python3 - badfat2.raw $(( estart * 512 )) <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b"); base = int(sys.argv[2])
f.seek(base); bs = f.read(512)
bps, spc, rsvd, nfats = struct.unpack_from("<HBHB", bs, 11)
fatsz = struct.unpack_from("<H", bs, 22)[0] or struct.unpack_from("<I", bs, 36)[0]
f.seek(base + rsvd * bps + 12)   # keep the two reserved entries and the root directory's (FAT32)
f.write(bytes(nfats * fatsz * bps - 12))
PY
struct_fails corrupt-fat-table "cluster chain" badfat2.raw
cp --sparse=always disk.raw badext4gd.raw
dd if=/dev/zero of=badext4gd.raw bs=4096 count=1 seek=$(( rstart / 8 + 1 )) conv=notrunc status=none
struct_fails corrupt-ext4-gdt "group descriptor" badext4gd.raw
run_verify nothing /nonexistent
check_eq "missing target" 1 "$rc"

finish
