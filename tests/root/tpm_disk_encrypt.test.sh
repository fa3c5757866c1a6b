#!/usr/bin/env bash
# disk create --encrypt on the host (no device-mapper): the root partition is a LUKS2
# volume written in userspace (AES-XTS-plain64 under the volume key libcryptsetup put in
# the header): decrypted with another implementation (Python's cryptography) it is the
# ext4 with the sealed repository. The UKI carries .pcrpkey, a .pcrsig for enter-initrd
# only and bootseal.luks=<uuid>; the initrd carries bootseal-unlock, its library closure
# and dm-crypt. On a swtpm in the state a genuine boot leaves in the initrd, the token
# unlocks; after leave-initrd or a PCR 15 measurement it does not.
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
. "$SRC/tests/lib/sealed_root.sh"
need swtpm tpm2_pcrextend tpm2_pcrread cryptsetup openssl python3 e2fsck debugfs zstd cpio sfdisk
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography not installed"
B() { "$BOOTSEAL" "$@"; }
cd "$TMP"
mkroot r 1
cp -a "$PAY/kernel/lib/modules/$KVER/kernel/drivers/md" "r/usr/lib/modules/$KVER/kernel/drivers/"  # dm-crypt
depmod -b r/usr "$KVER"
B -q keys generate --dir keys --name "bootseal encrypt test"
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$TMP/r" >/dev/null 2>&1
D=$(B -q image digest --repo repo v1)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pcr.key 2>/dev/null
swtpm_start
measure_firmware

expect_error "encrypt without --pcr-key" "encrypt needs --pcr-key" \
  B disk create --repo repo --image v1 --keys keys -o bad.raw --encrypt --tpm2-device "$SWTPM_TCTI"
expect_error "encrypt without a TPM" "encrypt needs one of --tpm2-device" \
  B disk create --repo repo --image v1 --keys keys -o bad.raw --encrypt --pcr-key pcr.key
[ ! -e bad.raw ] && pass || fail "a refused disk create left bad.raw"

B --json disk create --repo repo --image v1 --keys keys -o disk.raw --encrypt --tpm2-device "$SWTPM_TCTI" \
  --pcr-key pcr.key --recovery-key-file rk.txt >create.json 2>create.err && pass || { cat create.err; fail "disk create --encrypt"; }
[ -s create.json ] || { finish; exit 1; }
U=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["luks_uuid"])' create.json)
check_eq "recovery key file mode" 600 "$(stat -c %a rk.txt)"
grep -qE '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$' rk.txt && pass || fail "recovery key format: $(cat rk.txt)"
grep -q recovery_key\" create.json && fail "the recovery key was printed although written to a file" || pass

# The root partition (number 2), cut out of the disk.
read -r start size < <(sfdisk -J disk.raw | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][1]; print(p["start"], p["size"])')
dd if=disk.raw of=root.luks bs=512 skip="$start" count="$size" status=none
cryptsetup luksDump root.luks >dump.txt
check_eq "LUKS2 UUID" "$U" "$(sed -n 's/^UUID:[[:space:]]*//p' dump.txt)"
grep -q "cipher: aes-xts-plain64" dump.txt && pass || fail "cipher"
grep -q "systemd-tpm2" dump.txt && grep -q "systemd-recovery" dump.txt && pass || fail "tokens: $(grep -A1 Tokens dump.txt)"
tr -d '\n' <rk.txt >rk.key
cryptsetup open --test-passphrase --key-file rk.key root.luks && pass || fail "the recovery key does not open the volume"
cryptsetup luksDump -q --dump-volume-key --volume-key-file vk.bin --key-file rk.key root.luks >/dev/null
python3 - root.luks vk.bin plain.img <<'PY'
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
img, key = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb').read()
img.seek(16 << 20)
out = open(sys.argv[3], 'wb')
s = 0
while True:
    blk = img.read(1 << 20)
    if not blk: break
    res = bytearray()
    for o in range(0, len(blk), 512):
        d = Cipher(algorithms.AES(key), modes.XTS((s).to_bytes(16, 'little'))).decryptor()
        res += d.update(blk[o:o + 512]) + d.finalize()
        s += 1
    out.write(res)
PY
e2fsck -fn plain.img >/dev/null 2>&1 && pass || fail "the decrypted root is not a clean ext4"
debugfs -R "ls /composefs/images" plain.img 2>/dev/null | grep -q "$D" && pass || fail "the decrypted root lacks composefs/images/$D"

# The UKI: bootseal.luks= in the signed cmdline, .pcrpkey, .pcrsig for enter-initrd only.
UKI=disk.raw.uki.efi
B uki inspect "$UKI" >inspect.txt
grep -q "bootseal.luks=$U" inspect.txt && pass || fail "cmdline lacks bootseal.luks=$U"
objcopy -O binary --only-section=.pcrsig "$UKI" pcrsig.json
python3 - pcrsig.json <<'PY' && pass || fail "pcrsig"
import json, sys
d = json.loads(open(sys.argv[1], 'rb').read().rstrip(b'\0'))
assert list(d) == ['sha256'], d.keys()
assert len(d['sha256']) == 1 and d['sha256'][0]['pcrs'] == [11], d
PY
objcopy -O binary --only-section=.initrd "$UKI" initrd.zst
zstd -dcq initrd.zst | cpio -t 2>/dev/null >initrd.list
for f in usr/lib/bootseal/bootseal-unlock usr/lib/x86_64-linux-gnu/libcryptsetup.so.12 usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 lib64/ld-linux-x86-64.so.2; do
  grep -qx "$f" initrd.list && pass || fail "initrd lacks $f"
done
grep -q "dm-crypt.ko$" initrd.list && grep -q "dm-mod.ko$" initrd.list && pass || fail "initrd lacks dm-crypt/dm-mod"

# A genuine boot, in the initrd: PCR 11 = the UKI's sections + enter-initrd, PCR 15 = 0.
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1],"rb").read().rstrip(b"\0")); json.dump(d, open(sys.argv[2],"w"))' pcrsig.json sig.json
swtpm_reboot
measure_firmware
for h in $(python3 "$SRC/tests/lib/uki_measure.py" "$UKI"); do tpm2_pcrextend 11:sha256="$h"; done
tpm2_pcrextend 11:sha256="$(printf enter-initrd | sha256sum | cut -d' ' -f1)"
want=$(B pcr predict "$UKI" --bank sha256 --phase enter-initrd | awk -F= '/^11:sha256=/ {print tolower($2)}')
got=$(tpm2_pcrread sha256:11 -o p11.bin >/dev/null && xxd -p -c64 p11.bin)
check_eq "simulated PCR 11 = prediction" "$want" "$got"
B tpm unlock --test root.luks --tpm2-device "$SWTPM_TCTI" --signature sig.json >unlock.out 2>&1 && pass || fail "unlock in the initrd state: $(cat unlock.out)"
# After the unlock, PCR 15 measured (as bootseal-unlock does): refused.
tpm2_pcrextend 15:sha256="$(printf volume | sha256sum | cut -d' ' -f1)"
expect_error "PCR 15 measured" "policy" B tpm unlock --test root.luks --tpm2-device "$SWTPM_TCTI" --signature sig.json
# leave-initrd (PCR 15 back to 0 by a reboot): no signature matches.
swtpm_reboot
measure_firmware
for h in $(python3 "$SRC/tests/lib/uki_measure.py" "$UKI"); do tpm2_pcrextend 11:sha256="$h"; done
for ph in enter-initrd leave-initrd; do tpm2_pcrextend 11:sha256="$(printf $ph | sha256sum | cut -d' ' -f1)"; done
expect_error "after leave-initrd" "no signature in it matches" \
  B tpm unlock --test root.luks --tpm2-device "$SWTPM_TCTI" --signature sig.json
finish
