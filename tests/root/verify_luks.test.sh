#!/usr/bin/env bash
# bootseal verify, link 6 (issue 17): a LUKS2 root enrolled by `bootseal tpm enroll`
# (offline, for a swtpm's SRK; a signed PCR 11 policy with key pcr1) as the root
# partition of the example disk's GPT, and as the second target of an ESP + root
# pair. verify reads the LUKS2 header itself (no libcryptsetup, no mount): the TPM
# token, the PCRs and bank it binds, the UKI's .pcrpkey against the token's
# tpm2_pubkey, and a recovery key or passphrase keyslot. Root: cryptsetup luksFormat
# and luksKillSlot on image files.
source "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need swtpm tpm2_getcap cryptsetup sfdisk python3 depmod busybox mke2fs openssl
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
PE_EDIT="python3 $SRC/tests/lib/pe_edit.py"

mkroot good
"$BOOTSEAL" -q repo init --repo repo >/dev/null
"$BOOTSEAL" -q image import --repo repo --ref good "dir:$TMP/good" >/dev/null 2>&1
"$BOOTSEAL" -q keys generate --dir keys >/dev/null
digest=$("$BOOTSEAL" -q image digest --repo repo good)
"$BOOTSEAL" -q disk create --repo repo --image good --keys keys -o disk.raw --work-dir work --keep-work >/dev/null
uki=EFI/Linux/bootc/bootc_composefs-$digest.efi

# The sealed UKI rebuilt with a signed PCR 11 policy (pcr1), and with another key (pcr2).
for s in linux initrd osrel cmdline uname; do $PE_EDIT extract work/esp/$uki .$s $s.bin; done
for k in pcr1 pcr2; do
  openssl genrsa -out $k.key 2048 2>/dev/null; openssl rsa -in $k.key -pubout -out $k.pub 2>/dev/null
  "$BOOTSEAL" -q uki build --stub "$STUB" --linux linux.bin --initrd initrd.bin --os-release @osrel.bin \
    --uname "$(tr -d '\0' < uname.bin)" --cmdline "$(tr -d '\0' < cmdline.bin)" --sign-key keys/db.key --sign-cert keys/db.crt \
    --pcr-private-key $k.key --pcr-public-key $k.pub -o $k.efi
done
esp_with() { rm -rf esp-$1; cp -a work/esp esp-$1; cp "$2" esp-$1/$uki; }
esp_with pcr1 pcr1.efi
esp_with pcr2 pcr2.efi

# The SRK of a swtpm, then the TPM goes away: enrollment is offline.
swtpm_start
"$BOOTSEAL" tpm srk-public-key --tpm2-device "$SWTPM_TCTI" -o srk.pub
swtpm_stop
pcr7=$(printf 'firmware' | sha256sum | cut -d' ' -f1)
enroll() {  # enroll IMG [tpm enroll options]
  local img=$1; shift
  make_luks_image "$img"
  "$BOOTSEAL" -q tpm enroll "$img" --tpm2-srk-public-key srk.pub --pcrs "7=$pcr7" --unlock-key-file "$TMP/pass" "$@" >/dev/null
}
enroll luks-signed.img --public-key pcr1.pub
enroll luks-literal.img
make_luks_image luks-none.img

# disk_with ESPDISK ROOTIMG OUT: ESPDISK's ESP partition and ROOTIMG as the x86-64 root partition.
disk_with() {
  local estart esize rsize=$(( $(stat -c %s "$2") / 512 ))
  read -r estart esize < <(sfdisk --json "$1" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][0]; print(p["start"], p["size"])')
  rm -f "$3"; truncate -s $(( (estart + esize + rsize + 2048 + 34) * 512 )) "$3"
  printf 'label: gpt\nstart=%s, size=%s, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=%s, size=%s, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root\n' \
    "$estart" "$esize" $(( estart + esize )) "$rsize" | sfdisk -q "$3"
  dd if="$1" of="$3" bs=512 skip="$estart" seek="$estart" count="$esize" conv=notrunc,sparse status=none
  dd if="$2" of="$3" bs=512 seek=$(( estart + esize )) conv=notrunc,sparse status=none
}
# The GPT disks' ESP: the pcr1 ESP, by `disk assemble` (its root partition is not used).
"$BOOTSEAL" -q disk assemble --esp esp-pcr1 --root work/root -o esp-pcr1.raw

run_verify() { local n=$1; shift; set +e; "$BOOTSEAL" verify "$@" > "$n.out" 2> "$n.err"; rc=$?; set -e; }
line() { awk -v l="$2" '$2 == l' "$1.out"; }
expect() {  # expect NAME VERDICT LINK TEXT
  local l; l=$(line "$1" "$3")
  if grep -E "^$2 " <<<"$l" | grep -F -- "$4" >/dev/null; then pass; else fail "$1: no '$2 $3 ... $4' in: $l"; fi
}

# --- The good case: the disk's UKI carries pcr1's .pcrsig/.pcrpkey, the token pcr1's key.
run_verify pair-good esp-pcr1 luks-signed.img
check_eq "ESP dir + LUKS2 root: exit" 0 "$rc"
expect pair-good PASS disk.root "a LUKS2 volume"
expect pair-good PASS root.luks "LUKS2"
expect pair-good PASS root.luks.tpm2 "PCR 7 (sha256) by value, PCR 11 by a policy signed with key"
expect pair-good PASS root.luks.pcrpkey "is the token's tpm2_pubkey"
expect pair-good PASS root.luks.recovery "passphrase keyslot 0"
expect pair-good WARN root "encrypted (LUKS2)"
check_eq "link 6 before the root, after the UKI" "uki root.luks root" \
  "$(awk '{print $2}' pair-good.out | sed -E 's/^(uki|root\.luks)\..*/\1/' | grep -E '^(uki|root\.luks|root)$' | uniq | tr '\n' ' ' | sed 's/ $//')"
"$BOOTSEAL" --json verify esp-pcr1 luks-signed.img > pair-good.json
python3 - pair-good.json <<'PY' && pass || fail "--json: the token's PCRs, bank and pkfp"
import json, sys
links = {l["link"]: l for l in map(json.loads, open(sys.argv[1]))}
d = dict(links["root.luks.tpm2"]["details"]) if isinstance(links["root.luks.tpm2"]["details"], list) else links["root.luks.tpm2"]["details"]
assert any(k.endswith("bank") and v == "sha256" for k, v in d.items()), d
assert any(k.endswith("pkfp") and len(v) == 64 for k, v in d.items()), d
PY
# The same as one GPT disk.
disk_with esp-pcr1.raw luks-signed.img disk-signed.raw
run_verify disk-good disk-signed.raw
check_eq "GPT disk with a LUKS2 root: exit" 0 "$rc"
expect disk-good PASS disk.root "LUKS2-encrypted"
expect disk-good PASS root.luks.pcrpkey "is the token's tpm2_pubkey"
expect disk-good PASS root.luks.recovery "passphrase keyslot 0"

# --- The UKI's .pcrpkey is another key than the token's: the TPM refuses its .pcrsig.
run_verify pair-otherkey esp-pcr2 luks-signed.img
check_eq "another .pcrpkey: exit" 1 "$rc"
expect pair-otherkey FAIL root.luks.pcrpkey "is not the token's tpm2_pubkey"
# The sealed UKI of disk create (no .pcrsig, no .pcrpkey) with a signed-policy token.
run_verify pair-nopcrsig work/esp luks-signed.img
check_eq "no .pcrpkey: exit" 1 "$rc"
expect pair-nopcrsig FAIL root.luks.pcrpkey "has no .pcrpkey"

# --- PCR 7 by value only: no signed policy, .pcrpkey not used.
run_verify pair-literal work/esp luks-literal.img
check_eq "PCR 7 token: exit" 0 "$rc"
expect pair-literal PASS root.luks.tpm2 "PCR 7 (sha256) by value"
expect pair-literal PASS root.luks.pcrpkey "PCR values only"

# --- No TPM token: the initrd asks for a passphrase.
run_verify pair-notoken work/esp luks-none.img
check_eq "no token: exit" 1 "$rc"
expect pair-notoken FAIL root.luks.tpm2 "no systemd-tpm2 token"

# --- No way back: the passphrase keyslot removed (only the TPM keyslot left): WARN.
cp luks-signed.img luks-norecovery.img
cryptsetup luksKillSlot --batch-mode luks-norecovery.img 0 </dev/null
run_verify pair-norecovery esp-pcr1 luks-norecovery.img
check_eq "no recovery: exit (a WARN)" 0 "$rc"
expect pair-norecovery WARN root.luks.recovery "no recovery key and no passphrase keyslot"
# With a recovery key (systemd-recovery token).
enroll luks-recovery.img --public-key pcr1.pub --recovery-key --recovery-key-file rk.txt
cryptsetup luksKillSlot --batch-mode luks-recovery.img 0 </dev/null
run_verify pair-recovery esp-pcr1 luks-recovery.img
check_eq "recovery key: exit" 0 "$rc"
expect pair-recovery PASS root.luks.recovery "recovery key in keyslot"

# --- A damaged header: one copy (WARN, cryptsetup repairs it), both copies (FAIL naming them).
cp luks-signed.img luks-half.img
printf 'X' | dd of=luks-half.img bs=1 seek=5000 conv=notrunc status=none
run_verify pair-half esp-pcr1 luks-half.img
check_eq "primary header damaged: exit" 0 "$rc"
expect pair-half WARN root.luks "primary header: sha256 checksum mismatch"
expect pair-half PASS root.luks.pcrpkey "is the token's tpm2_pubkey"
cp luks-half.img luks-bad.img
printf 'X' | dd of=luks-bad.img bs=1 seek=$((16384 + 5000)) conv=notrunc status=none
disk_with esp-pcr1.raw luks-bad.img disk-bad.raw
run_verify disk-bad disk-bad.raw
check_eq "both headers damaged: exit" 1 "$rc"
expect disk-bad FAIL root.luks "secondary header: sha256 checksum mismatch"

# --- Block devices: the GPT disk as a loop device, and its two partitions as loop
# devices of their own (offset/sizelimit: no partition scan needed) as an ESP + root pair.
parts=$(sfdisk --json disk-signed.raw | python3 -c 'import json,sys; print(" ".join("%d:%d" % (p["start"] * 512, p["size"] * 512) for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
loops=()
trap 'for l in "${loops[@]}"; do losetup -d "$l"; done; swtpm_stop; rm -rf "$TMP"' EXIT
loops+=("$(losetup -f --show disk-signed.raw)")
for p in $parts; do loops+=("$(losetup -f --show -o "${p%%:*}" --sizelimit "${p##*:}" disk-signed.raw)"); done
run_verify loopdev "${loops[0]}"
check_eq "block device ${loops[0]}: exit" 0 "$rc"
expect loopdev PASS disk.gpt "${loops[0]}: GPT with 2 partitions"
expect loopdev PASS root.luks.pcrpkey "is the token's tpm2_pubkey"
run_verify loopparts "${loops[1]}" "${loops[2]}"
check_eq "partition block devices as the pair: exit" 0 "$rc"
expect loopparts PASS disk.esp "${loops[1]}: ESP: ${loops[1]} (FAT"
expect loopparts PASS root.luks.tpm2 "PCR 11 by a policy signed with key"
# A character device or a FIFO is refused with the reason.
run_verify chardev /dev/null
check_eq "/dev/null: exit" 1 "$rc"
expect chardev FAIL target "not a disk image, block device or directory"
finish
