#!/usr/bin/env bash
# bootseal tpm enroll, then systemd 254's own token plugin (libcryptsetup-token-systemd-tpm2)
# unlocks: PCR 7, signed PCR 11, signed PCR 11 + PCR 7, PIN; and the recovery key opens
# its keyslot with cryptsetup. One swtpm, LUKS2 image files, check-only (no device-mapper).
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need swtpm tpm2_pcrextend cryptsetup openssl cc python3
need_systemd254
signed_boot_fixture
B() { "$BOOTSEAL" "$@"; }

enroll_and_open() {  # NAME ENROLL-ARGS... -- PLUGIN-SIG PLUGIN-PIN
  local name=$1; shift
  local args=() ; while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  local img=$TMP/$name.img
  make_luks_image "$img"
  if ! B --json tpm enroll "$img" --tpm2-device "$SWTPM_TCTI" --unlock-key-file "$TMP/pass" "${args[@]}" >"$TMP/$name.json" 2>"$TMP/err"; then
    fail "$name: enroll: $(cat "$TMP/err")"; return
  fi
  local tok; tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TMP/$name.json")
  if plugin254_unlock "$img" "$tok" "$1" "$2" >"$TMP/out" 2>&1; then pass; else fail "$name: systemd's plugin: $(cat "$TMP/out")"; fi
  # And ours, through the same token.
  if [ -n "$2" ]; then
    PIN=$2 B tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" ${1:+--signature "$1"} --pin >/dev/null 2>"$TMP/err" && pass || fail "$name: our unlock: $(cat "$TMP/err")"
  else
    B tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" ${1:+--signature "$1"} >/dev/null 2>"$TMP/err" && pass || fail "$name: our unlock: $(cat "$TMP/err")"
  fi
}

enroll_and_open pcr7 --pcrs 7 -- "" ""
enroll_and_open signed11 --pcrs "" --public-key "$TMP/pcr.pub" --signature "$TMP/sig.json" -- "$TMP/sig.json" ""
enroll_and_open signed11+pcr7 --pcrs 7 --public-key "$TMP/pcr.pub" --signature "$TMP/sig.json" -- "$TMP/sig.json" ""
NEWPIN=1234 enroll_and_open pin --pcrs 7 --pin -- "" 1234

# The token is systemd's exact field set, with tpm2_srk.
cryptsetup token export --token-id 0 "$TMP/signed11+pcr7.img" >"$TMP/tok.json"
check_eq "token keys" "type keyslots tpm2-blob tpm2-pcrs tpm2-pcr-bank tpm2-primary-alg tpm2-policy-hash tpm2-pin tpm2_pubkey_pcrs tpm2_pubkey tpm2_srk" \
  "$(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1])).keys())' "$TMP/tok.json")"

# Recovery key: written once with mode 0600; opens its keyslot with cryptsetup; tagged
# with a systemd-recovery token.
img=$TMP/rk.img
make_luks_image "$img"
B tpm enroll "$img" --tpm2-device "$SWTPM_TCTI" --unlock-key-file "$TMP/pass" --recovery-key-file "$TMP/rk.txt" 2>/dev/null
check_eq "recovery key file mode" 600 "$(stat -c %a "$TMP/rk.txt")"
grep -qE '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$' "$TMP/rk.txt" && pass || fail "recovery key format: $(cat "$TMP/rk.txt")"
tr -d '\n' <"$TMP/rk.txt" >"$TMP/rk.key"
cryptsetup open --test-passphrase --key-file "$TMP/rk.key" "$img" && pass || fail "cryptsetup does not accept the recovery key"
check_eq "recovery token" '{"type":"systemd-recovery","keyslots":["1"]}' "$(cryptsetup token export --token-id 0 "$img" | tr -d ' \n')"
# ... and unlocks a further enrollment (normalized: no dashes, upper case).
PASSWORD=$(tr -d '\n-' <"$TMP/rk.txt" | tr a-z A-Z) B tpm enroll "$img" --tpm2-device "$SWTPM_TCTI" --unlock-recovery-key 2>/dev/null \
  && pass || fail "enroll with --unlock-recovery-key"

# Printed once when no file is given.
img=$TMP/rk2.img
make_luks_image "$img"
B tpm enroll "$img" --tpm2-device "$SWTPM_TCTI" --unlock-key-file "$TMP/pass" --recovery-key >"$TMP/out" 2>/dev/null
key=$(grep -oE '([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}' "$TMP/out" | head -1)
printf '%s' "$key" >"$TMP/rk2.key"
cryptsetup open --test-passphrase --key-file "$TMP/rk2.key" "$img" && pass || fail "printed recovery key does not open"

# status --json
B --json tpm status "$TMP/signed11+pcr7.img" --tpm2-device "$SWTPM_TCTI" --signature "$TMP/sig.json" >"$TMP/st.json"
check_eq "status" "[7] [11] True False True" "$(python3 -c 'import json,sys
t=[x for x in json.load(open(sys.argv[1]))["tokens"] if x["type"]=="systemd-tpm2"][0]
print(t["pcrs"], t["pubkey_pcrs"], t["would_unseal"], t["pin"], t["srk"])' "$TMP/st.json")"
finish
