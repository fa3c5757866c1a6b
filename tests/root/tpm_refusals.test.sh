#!/usr/bin/env bash
# Every refusal fails closed with its own one-line message and leaves the LUKS2 header
# byte-identical: PCR 11 changed with the old signature, unknown pkfp, tampered pol and
# sig, swapped public key, policy-hash mismatch, wrong PIN (DA counter), missing SRK, no
# TPM, not LUKS2, corrupted token JSON, wrong unlock/recovery key, wipe of the last way in.
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need swtpm tpm2_pcrextend tpm2_evictcontrol cryptsetup openssl python3
swtpm_start
measure_firmware
make_uki_sections "$TMP/uki" "root=/dev/sda2 quiet"
measure_uki "$TMP/uki" enter-initrd
for k in pcr evil; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/$k.key" 2>/dev/null
  openssl pkey -in "$TMP/$k.key" -pubout -out "$TMP/$k.pub"
done
sign_uki "$TMP/uki" "$TMP/pcr.key" "$TMP/pcr.pub" "$TMP/sig.json"
B() { "$BOOTSEAL" "$@"; }
T=(--tpm2-device "$SWTPM_TCTI")
img=$TMP/disk.img
make_luks_image "$img"
B tpm enroll "$img" "${T[@]}" --unlock-key-file "$TMP/pass" --pcrs 7 --public-key "$TMP/pcr.pub" --signature "$TMP/sig.json" 2>/dev/null  # slot 1, token 0
NEWPIN=1234 B tpm enroll "$img" "${T[@]}" --unlock-key-file "$TMP/pass" --pcrs 7 --pin 2>/dev/null                                  # slot 2, token 1
B tpm unlock --test "$img" "${T[@]}" --token 0 --signature "$TMP/sig.json" >/dev/null && pass || fail "baseline unlock"
sum=$(header_sum "$img")
same_header() { check_eq "$1: header unchanged" "$sum" "$(header_sum "$img")"; }
refuse() {  # WHAT PATTERN ARGS... (bootseal tpm unlock --test IMG ...)
  expect_error "$1" "$2" B tpm unlock --test "$img" "${T[@]}" "${@:3}"
  same_header "$1"
}
J() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1; json.dump(d,open(sys.argv[2],'w'))" "$2" "$3"; }

# Tampered signatures: unknown key, modified pol, modified sig.
sign_uki "$TMP/uki" "$TMP/evil.key" "$TMP/evil.pub" "$TMP/evil-sig.json"
refuse "unknown pkfp" "was made with the token's PCR key" --token 0 --signature "$TMP/evil-sig.json"
J 'e=d["sha256"][0]; e["pol"]=("0" if e["pol"][0]!="0" else "1")+e["pol"][1:]' "$TMP/sig.json" "$TMP/bad-pol.json"
refuse "tampered pol" "no signature in it matches the current PCR values" --token 0 --signature "$TMP/bad-pol.json"
J 'import base64; e=d["sha256"][0]; s=bytearray(base64.b64decode(e["sig"])); s[10]^=1; e["sig"]=base64.b64encode(bytes(s)).decode()' "$TMP/sig.json" "$TMP/bad-sig.json"
refuse "tampered sig" "the TPM rejected the signature" --token 0 --signature "$TMP/bad-sig.json"
# A signature for another PCR 11 carried over (the pol of a different UKI with a valid sig).
make_uki_sections "$TMP/other" "root=/dev/sda2 init=/bin/sh"
sign_uki "$TMP/other" "$TMP/pcr.key" "$TMP/pcr.pub" "$TMP/other-sig.json"
refuse "signature of another UKI" "no signature in it matches the current PCR values" --token 0 --signature "$TMP/other-sig.json"
refuse "no signature" "no PCR signature was found" --token 0

# Edited tokens (in a copy of the image): swapped public key + the attacker's signature,
# policy hash edited, corrupted JSON.
edit_token() {  # NAME PYTHON
  cp "$img" "$TMP/$1.img"
  cryptsetup token export --token-id 0 "$TMP/$1.img" >"$TMP/$1.tok"
  J "$2" "$TMP/$1.tok" "$TMP/$1.tok2"
  cryptsetup token remove --token-id 0 "$TMP/$1.img"
  # Without the host's systemd plugin, which would validate (and refuse) the edited token.
  cryptsetup --disable-external-tokens token import --token-id 0 --json-file "$TMP/$1.tok2" "$TMP/$1.img"
}
evil_pem=$(base64 -w0 "$TMP/evil.pub")
edit_token swap "d['tpm2_pubkey']='$evil_pem'"
expect_error "swapped public key" "is not the token's tpm2-policy-hash" \
  B tpm unlock --test "$TMP/swap.img" "${T[@]}" --token 0 --signature "$TMP/evil-sig.json"
# ... and with the policy hash rewritten to match the attacker's key, the TPM itself refuses.
evil_hash=$(B --json tpm unlock --test "$TMP/swap.img" "${T[@]}" --token 0 --signature "$TMP/evil-sig.json" 2>&1 | grep -oE 'digest [0-9a-f]{64}' | cut -d' ' -f2 || true)
edit_token swap2 "d['tpm2_pubkey']='$evil_pem'; d['tpm2-policy-hash']='$evil_hash'"
expect_error "swapped key and policy hash" "the TPM refused to unseal" \
  B tpm unlock --test "$TMP/swap2.img" "${T[@]}" --token 0 --signature "$TMP/evil-sig.json"
edit_token phash "d['tpm2-policy-hash']='00'*32"
expect_error "policy-hash mismatch" "is not the token's tpm2-policy-hash" \
  B tpm unlock --test "$TMP/phash.img" "${T[@]}" --token 0 --signature "$TMP/sig.json"
edit_token corrupt "del d['tpm2-blob']"
expect_error "corrupted token JSON" "token 0: token: no tpm2-blob" \
  B tpm unlock --test "$TMP/corrupt.img" "${T[@]}" --token 0 --signature "$TMP/sig.json"

# PIN: missing, wrong (one DA strike, visible), right.
refuse "no PIN" "needs a PIN" --token 1 </dev/null
PIN=4321 refuse "wrong PIN" "wrong PIN \(the TPM's dictionary-attack counter is now 1" --token 1 --pin
B --json tpm status "$img" "${T[@]}" >"$TMP/st.json"
check_eq "DA counter in status" 1 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["da_counter"])' "$TMP/st.json")"
PIN=1234 B tpm unlock --test "$img" "${T[@]}" --token 1 --pin >/dev/null && pass || fail "right PIN"

# PCR 7 changed (Secure Boot state): literal policy refuses before the unseal.
measure_firmware
PIN=1234 refuse "PCR 7 changed" "is not the token's tpm2-policy-hash [0-9a-f]+ \(PCR 7 changed" --token 1 --pin
# PCR 11 changed (another UKI measured) with the old signature.
measure_uki "$TMP/other"
refuse "PCR 11 changed, old signature" "no signature in it matches the current PCR values" --token 0 --signature "$TMP/sig.json"

# Enrollment refusals change nothing.
printf 'wrong' >"$TMP/wrong"
expect_error "wrong unlock key" "unlock key: .*opens no keyslot" B tpm enroll "$img" "${T[@]}" --unlock-key-file "$TMP/wrong"
same_header "wrong unlock key"
expect_error "wrong recovery key" "not a recovery key" env PASSWORD=cccc "$BOOTSEAL" tpm enroll "$img" "${T[@]}" --unlock-recovery-key
expect_error "valid-looking wrong recovery key" "opens no keyslot" env PASSWORD=cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc \
  "$BOOTSEAL" tpm enroll "$img" "${T[@]}" --unlock-recovery-key
same_header "wrong recovery key"
expect_error "no TPM" "no TPM|Connection refused|TPM swtpm" B tpm enroll "$img" --tpm2-device swtpm:host=127.0.0.1,port=1 --unlock-key-file "$TMP/pass"
same_header "no TPM"
expect_error "bad TCTI" "expected auto, device:PATH" B tpm enroll "$img" --tpm2-device bogus --unlock-key-file "$TMP/pass"
truncate -s 1M "$TMP/plain.img"
expect_error "not LUKS2" "plain.img: not a LUKS2 device" B tpm status "$TMP/plain.img"
expect_error "unlock of not LUKS2" "plain.img: not a LUKS2 device" B tpm unlock --test "$TMP/plain.img" "${T[@]}"

# wipe: never the last passphrase/recovery keyslot, never the last keyslot.
expect_error "wipe the only passphrase" "refusing to remove the last passphrase or recovery keyslot" B tpm wipe "$img" --slot 0
same_header "wipe refused"
B tpm wipe "$img" --all-tpm >/dev/null && pass || fail "wipe --all-tpm"
check_eq "after wipe" "0" "$(B --json tpm status "$img" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(*d["keyslots"], *[t["id"] for t in d["tokens"]])')"
expect_error "wipe the last keyslot" "refusing to remove the last keyslot" B tpm wipe "$img" --slot 0

# Missing SRK (TPM cleared or another TPM): refused with its own message.
B tpm enroll "$img" "${T[@]}" --unlock-key-file "$TMP/pass" --pcrs 7 2>/dev/null
sum=$(header_sum "$img")
tpm2_evictcontrol -C o -c 0x81000001 >/dev/null
refuse "missing SRK" "the TPM has no SRK at 0x81000001"
# Recreated from the same owner seed, the SRK is the same key: the token opens again.
B tpm enroll "$TMP/swap.img" "${T[@]}" --unlock-key-file "$TMP/pass" --pcrs 7 2>/dev/null
B tpm unlock --test "$img" "${T[@]}" >/dev/null && pass || fail "recreated SRK"
# After TPM2_Clear (new owner seed) the SRK is gone, and a new one is another key.
tpm2_clear -c p >/dev/null
refuse "SRK gone after clear" "the TPM has no SRK at 0x81000001"
B tpm enroll "$TMP/swap.img" "${T[@]}" --unlock-key-file "$TMP/pass" --pcrs 7 2>/dev/null
refuse "another SRK" "is not the one the token was sealed under"
finish
