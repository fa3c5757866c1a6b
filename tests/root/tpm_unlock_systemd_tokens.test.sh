#!/usr/bin/env bash
# systemd-cryptenroll 254 enrolls (PCR 7, signed PCR 11, signed PCR 11 + PCR 7, PIN,
# recovery key), then bootseal tpm unlock --test opens each token's keyslot; rotation:
# after a new UKI, a newly signed .pcrsig unlocks with the LUKS2 header unchanged.
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need swtpm tpm2_pcrextend cryptsetup openssl cc python3
need_systemd254
signed_boot_fixture
B() { "$BOOTSEAL" "$@"; }
img=$TMP/disk.img
make_luks_image "$img"
export PASSWORD; PASSWORD=$(cat "$TMP/pass")
cryptenroll254 --tpm2-pcrs=7 "$img" >/dev/null 2>&1 || fail "cryptenroll pcr7"                               # slot 1
cryptenroll254 --tpm2-pcrs= --tpm2-public-key="$TMP/pcr.pub" --tpm2-public-key-pcrs=11 \
  --tpm2-signature="$TMP/sig.json" "$img" >/dev/null 2>&1 || fail "cryptenroll signed11"                      # slot 2
cryptenroll254 --tpm2-pcrs=7 --tpm2-public-key="$TMP/pcr.pub" --tpm2-public-key-pcrs=11 \
  --tpm2-signature="$TMP/sig.json" "$img" >/dev/null 2>&1 || fail "cryptenroll signed11+7"                    # slot 3
NEWPIN=1234 cryptenroll254 --tpm2-pcrs=7 --tpm2-with-pin=yes "$img" >/dev/null 2>&1 || fail "cryptenroll pin"  # slot 4
sd254 "$SD254/usr/bin/systemd-cryptenroll" --recovery-key "$img" >"$TMP/rk.out" 2>"$TMP/rk.err" || fail "cryptenroll recovery: $(cat "$TMP/rk.err")"                # slot 5
unset PASSWORD
check_eq "systemd made five tokens" "0 1 2 3 4" "$(B --json tpm status "$img" | python3 -c 'import json,sys; print(*[t["id"] for t in json.load(sys.stdin)["tokens"]])')"

u() { B --json tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" "$@" 2>"$TMP/err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keyslot"])' 2>/dev/null; }
check_eq "pcr7 token" 1 "$(u --token 0)"
check_eq "signed11 token" 2 "$(u --token 1 --signature "$TMP/sig.json")"
check_eq "signed11+7 token" 3 "$(u --token 2 --signature "$TMP/sig.json")"
check_eq "pin token" 4 "$(PIN=1234 u --token 3 --pin)"
# Recovery key as systemd printed it unlocks an enrollment of ours.
key=$(grep -oE '([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}' "$TMP/rk.out" | head -1)
[ -n "$key" ] && pass || fail "no recovery key printed by systemd-cryptenroll"
PASSWORD=$key B --json tpm enroll "$img" --tpm2-device "$SWTPM_TCTI" --unlock-recovery-key >"$TMP/en.json" 2>"$TMP/err" \
  && pass || fail "enroll with systemd's recovery key: $(cat "$TMP/err")"

# Rotation: a new UKI (other cmdline) boots; the old signature no longer matches, a new
# one made with the same PCR key does, and the header is not written.
sum=$(header_sum "$img")
swtpm_reboot
measure_firmware
make_uki_sections "$TMP/uki2" "root=/dev/sda2 quiet rotated"
measure_uki "$TMP/uki2" enter-initrd
expect_error "old signature after the upgrade" "no signature in it matches the current PCR values" \
  B tpm unlock --test "$img" --tpm2-device "$SWTPM_TCTI" --token 2 --signature "$TMP/sig.json"
sign_uki "$TMP/uki2" "$TMP/pcr.key" "$TMP/pcr.pub" "$TMP/sig2.json"
check_eq "new signature unlocks" 3 "$(u --token 2 --signature "$TMP/sig2.json")"
if plugin254_unlock "$img" 2 "$TMP/sig2.json" >"$TMP/out" 2>&1; then pass; else fail "systemd's plugin with the new signature: $(cat "$TMP/out")"; fi
check_eq "header unchanged by rotation" "$sum" "$(header_sum "$img")"
finish
