#!/usr/bin/env bash
# Offline enrollment: seal for a TPM that is not there, from its SRK public key
# (bootseal tpm srk-public-key), with the TPM2_Import seed form; then that TPM unlocks
# (PCR 7 with its expected value, and signed PCR 11 + PCR 7), and another TPM refuses.
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need swtpm tpm2_pcrextend tpm2_pcrread cryptsetup openssl python3
B() { "$BOOTSEAL" "$@"; }
swtpm_start
measure_firmware
B tpm srk-public-key --tpm2-device "$SWTPM_TCTI" -o "$TMP/srk.pub"
pcr7=$(tpm2_pcrread sha256:7 -o "$TMP/pcr7.bin" >/dev/null && xxd -p -c64 "$TMP/pcr7.bin")
make_uki_sections "$TMP/uki" "root=/dev/sda2 quiet"
measure_uki "$TMP/uki" enter-initrd
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/pcr.key" 2>/dev/null
openssl pkey -in "$TMP/pcr.key" -pubout -out "$TMP/pcr.pub"
sign_uki "$TMP/uki" "$TMP/pcr.key" "$TMP/pcr.pub" "$TMP/sig.json"
swtpm_stop   # the TPM is not present during enrollment

img=$TMP/disk.img
make_luks_image "$img"
B --json tpm enroll "$img" --tpm2-srk-public-key "$TMP/srk.pub" --pcrs "7=$pcr7" --unlock-key-file "$TMP/pass" >"$TMP/e1.json" \
  && pass || fail "offline enroll PCR 7"
B --json tpm enroll "$img" --tpm2-srk-public-key "$TMP/srk.pub" --pcrs "7=$pcr7" --public-key "$TMP/pcr.pub" \
  --unlock-key-file "$TMP/pass" >"$TMP/e2.json" && pass || fail "offline enroll signed PCR 11 + PCR 7"
expect_error "offline needs PCR values" "offline enrollment binds literal PCRs only with their values" \
  B tpm enroll "$img" --tpm2-srk-public-key "$TMP/srk.pub" --pcrs 7 --unlock-key-file "$TMP/pass"
printf 'junk' >"$TMP/junk.pub"
expect_error "bad SRK public key" "tpm2-srk-public-key: SRK public key" \
  B tpm enroll "$img" --tpm2-srk-public-key "$TMP/junk.pub" --pcrs "7=$pcr7" --unlock-key-file "$TMP/pass"
# The token carries the seed (third part of the blob) and systemd's tpm2_srk for that SRK.
cryptsetup token export --token-id 0 "$img" >"$TMP/tok.json"
check_eq "blob has a seed" 3 "$(python3 -c '
import json,sys,base64
b=base64.b64decode(json.load(open(sys.argv[1]))["tpm2-blob"]); n=0; i=0
while i<len(b): s=b[i]<<8|b[i+1]; i+=2+s; n+=1
print(n)' "$TMP/tok.json")"

# The TPM boots again (same state: its SRK) and unlocks both.
swtpm_start
measure_firmware
measure_uki "$TMP/uki" enter-initrd
u() { B --json tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" "$@" 2>"$TMP/err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keyslot"])' 2>/dev/null || cat "$TMP/err" >&2; }
check_eq "offline PCR 7 token" 1 "$(u --token 0)"
check_eq "offline signed token" 2 "$(u --token 1 --signature "$TMP/sig.json")"
swtpm_stop

# Another TPM (fresh state): its SRK is another key.
rm -rf "$SWTPM_DIR"; SWTPM_PORT=
swtpm_start
measure_firmware
B tpm srk-public-key --tpm2-device "$SWTPM_TCTI" -o "$TMP/srk2.pub"
expect_error "another TPM" "is not the one the token was sealed under" \
  B tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" --token 0
finish
