#!/usr/bin/env bash
# Offline signing (issue 13; bootc#1498, systemd-sbsign 258's
# --prepare-offline-signing): a build farm that never holds the db key builds an
# unsigned UKI (`uki build --unsigned`), writes the data to be signed (`sign
# --prepare-offline-signing -o TBS`: the DER PKCS#7 signed attributes over the
# image's SpcIndirectDataContent), a signer elsewhere signs TBS with plain
# `openssl` (dgst, or pkeyutl over the SHA-256), and `sign --signed-data TBS
# --signed-data-signature SIG` puts that signature in. sbverify accepts the
# result, and it is byte-identical to `bootseal sign --key` with the same key
# and SOURCE_DATE_EPOCH (RSA PKCS#1 v1.5 is deterministic). A signature for
# another image, a tampered signature and option mistakes are refused with one
# line and the right exit code, writing nothing.
# A whole PKCS#7 signature made elsewhere (what a signing service returns;
# here sbsign's, cut out by sbattach --detach) goes in with `sign --signed-data
# P7` alone, as sbattach --attach, after checking it is this image's: the result
# equals sbsign's signed image and sbattach --attach's.
source "$SRC/tests/lib.sh"
need openssl sbverify sbsign sbattach
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
SDBOOT=$PAY/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
KERNEL=$PAY/kernel/vmlinuz
[ -f "$SDBOOT" ] && [ -f "$KERNEL" ] || { echo "missing boot payloads: run tools/fetch-payloads"; exit 1; }
cd "$TMP"
export SOURCE_DATE_EPOCH=1750000000
openssl genrsa -out db.pem 2048 2>/dev/null
openssl req -new -x509 -key db.pem -subj "/CN=bootseal offline test db" -addext extendedKeyUsage=codeSigning -days 30 -out db.crt 2>/dev/null

# 1. The build farm: an unsigned UKI, and the data to be signed (no key here).
common=(--linux "$KERNEL" --stub "$STUB" --cmdline "console=ttyS0" --os-release "ID=test" --uname 6.0-test)
"$BOOTSEAL" -q uki build "${common[@]}" --unsigned --output uki.efi && pass || fail "uki build --unsigned"
rc=0; "$BOOTSEAL" -q verify --cert db.crt uki.efi >/dev/null 2>err.txt || rc=$?
check_eq "an --unsigned UKI has no signature (verify: exit 1)" 1 "$rc"
grep -q "no signature" err.txt && pass || fail "unsigned UKI: $(cat err.txt)"
"$BOOTSEAL" -q sign --prepare-offline-signing --cert db.crt -o tbs.der uki.efi 2>err.txt \
  && pass || fail "sign --prepare-offline-signing: $(cat err.txt)"
[ ! -e uki.efi.signed ] && pass || fail "--prepare-offline-signing wrote a signed image"
# DER SET OF Attribute (tag 0x31) with contentType, signingTime and messageDigest.
check_eq "TBS is a DER SET" 31 "$(head -c1 tbs.der | od -An -tx1 | tr -d ' ')"
openssl asn1parse -inform DER -in tbs.der > asn1.txt 2>&1 && pass || fail "TBS does not parse as DER: $(cat asn1.txt)"
for a in contentType signingTime messageDigest 1.3.6.1.4.1.311.2.1.4; do
  grep -q "$a" asn1.txt && pass || fail "TBS lacks $a: $(cat asn1.txt)"
done

# 2. The signer, elsewhere: plain openssl, two ways, the same bytes.
openssl dgst -sha256 -sign db.pem -out tbs.sig tbs.der && pass || fail "openssl dgst -sign"
openssl dgst -sha256 -binary tbs.der > tbs.sha256
openssl pkeyutl -sign -inkey db.pem -pkeyopt digest:sha256 -in tbs.sha256 -out tbs2.sig && pass || fail "openssl pkeyutl"
cmp -s tbs.sig tbs2.sig && pass || fail "pkeyutl and dgst signatures differ"

# 3. Back on the farm: the signature goes in.
"$BOOTSEAL" -q sign --cert db.crt --signed-data tbs.der --signed-data-signature tbs.sig -o offline.efi uki.efi 2>err.txt \
  && pass || fail "sign --signed-data-signature: $(cat err.txt)"
sbverify --cert db.crt offline.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the offline-signed UKI"
"$BOOTSEAL" -q verify --cert db.crt offline.efi >/dev/null && pass || fail "bootseal verify rejects the offline-signed UKI"
"$BOOTSEAL" -q sign --key db.pem --cert db.crt -o online.efi uki.efi
cmp -s offline.efi online.efi && pass || fail "offline-signed UKI differs from the one signed with --key"
# A UKI built and signed in one step is the same image too.
"$BOOTSEAL" -q uki build "${common[@]}" --sign-key db.pem --sign-cert db.crt --output built.efi
cmp -s offline.efi built.efi && pass || fail "offline-signed UKI differs from uki build --sign-key"
# Any PE: systemd-boot as well.
"$BOOTSEAL" -q sign --prepare-offline-signing --cert db.crt -o sd.der "$SDBOOT"
openssl dgst -sha256 -sign db.pem -out sd.sig sd.der
"$BOOTSEAL" -q sign --cert db.crt --signed-data sd.der --signed-data-signature sd.sig -o sd-offline.efi "$SDBOOT"
"$BOOTSEAL" -q sign --key db.pem --cert db.crt -o sd-online.efi "$SDBOOT"
cmp -s sd-offline.efi sd-online.efi && pass || fail "offline-signed systemd-boot differs"
sbverify --cert db.crt sd-offline.efi >/dev/null 2>&1 && pass || fail "sbverify rejects offline-signed systemd-boot"
# --json: the prepare step says where it wrote.
"$BOOTSEAL" --json sign --prepare-offline-signing --cert db.crt -o j.der uki.efi > j.json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["signed_data"]=="j.der" and j["bytes"]>0' j.json \
  && pass || fail "--json prepare: $(cat j.json)"

openssl req -new -x509 -key <(openssl genrsa 2048 2>/dev/null) -subj "/CN=other" -days 30 -out other.crt 2>/dev/null
# 4. A whole PKCS#7 Authenticode signature made elsewhere: sbsign's, detached by sbattach.
code() { local rc=0; "$@" >/dev/null 2>"$TMP/err" || rc=$?; echo $rc; }
sbsign --key db.pem --cert db.crt --output sbsigned.efi uki.efi >/dev/null 2>&1 && pass || fail "sbsign"
sbattach --detach uki.p7 sbsigned.efi >/dev/null && pass || fail "sbattach --detach"
"$BOOTSEAL" -q sign --signed-data uki.p7 -o p7.efi uki.efi 2>err.txt && pass || fail "sign --signed-data P7: $(cat err.txt)"
cmp -s p7.efi sbsigned.efi && pass || fail "sign --signed-data P7 differs from sbsign's image"
cp uki.efi attached.efi; sbattach --attach uki.p7 attached.efi >/dev/null 2>&1
cmp -s p7.efi attached.efi && pass || fail "sign --signed-data P7 differs from sbattach --attach"
sbverify --cert db.crt p7.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the PKCS#7-attached UKI"
"$BOOTSEAL" -q sign --cert db.crt --signed-data uki.p7 -o p7c.efi uki.efi && cmp -s p7c.efi sbsigned.efi \
  && pass || fail "sign --signed-data P7 --cert (the signer chains to it)"
"$BOOTSEAL" --json sign --signed-data uki.p7 -o p7j.efi uki.efi > p7.json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["output"]=="p7j.efi" and "offline test db" in j["signer"], j' \
  p7.json && pass || fail "--json: $(cat p7.json)"
# Default output as sbsign: IN.signed.
cp uki.efi dflt.efi; "$BOOTSEAL" -q sign --signed-data uki.p7 dflt.efi && cmp -s dflt.efi.signed sbsigned.efi && cmp -s dflt.efi uki.efi \
  && pass || fail "sign --signed-data P7 without -o: IN.signed, IN untouched"
sbsign --key db.pem --cert db.crt --output sd-sb.efi "$SDBOOT" >/dev/null 2>&1; sbattach --detach sd.p7 sd-sb.efi >/dev/null
check_eq "a PKCS#7 signature of another image (exit 3)" 3 "$(code "$BOOTSEAL" sign --signed-data sd.p7 -o x.efi uki.efi)"
grep -q "the signature is for another image" "$TMP/err" && pass || fail "P7 of another image: $(cat "$TMP/err")"
check_eq "one line" 1 "$(wc -l < "$TMP/err")"
check_eq "a PKCS#7 signature whose signer does not chain to --cert (exit 3)" 3 \
  "$(code "$BOOTSEAL" sign --cert other.crt --signed-data uki.p7 -o x.efi uki.efi)"
sz=$(stat -c %s uki.p7); cp uki.p7 bad.p7; printf '\x5a' | dd of=bad.p7 bs=1 seek=$((sz - 20)) conv=notrunc 2>/dev/null
check_eq "a tampered PKCS#7 signature (exit 3)" 3 "$(code "$BOOTSEAL" sign --signed-data bad.p7 -o x.efi uki.efi)"
grep -q "signature does not verify" "$TMP/err" && pass || fail "tampered P7: $(cat "$TMP/err")"
check_eq "not a PKCS#7 (exit 3)" 3 "$(code "$BOOTSEAL" sign --signed-data tbs.der -o x.efi uki.efi)"
grep -q "tbs.der.*not a DER PKCS#7 SignedData" "$TMP/err" && pass || fail "not P7: $(cat "$TMP/err")"
check_eq "--addcert with a PKCS#7 (exit 2)" 2 "$(code "$BOOTSEAL" sign --signed-data uki.p7 --addcert db.crt -o x.efi uki.efi)"
check_eq "--signed-data with --prepare-offline-signing (exit 2)" 2 \
  "$(code "$BOOTSEAL" sign --prepare-offline-signing --signed-data uki.p7 --cert db.crt -o x.efi uki.efi)"
[ ! -e x.efi ] && pass || fail "a refused PKCS#7 attach wrote an image"

# Refusals: one line, the right exit code, nothing written.
check_eq "signature for another image (exit 3)" 3 \
  "$(code "$BOOTSEAL" sign --cert db.crt --signed-data sd.der --signed-data-signature sd.sig -o x.efi uki.efi)"
grep -q "messageDigest is not this image's" "$TMP/err" && pass || fail "other image: $(cat "$TMP/err")"
check_eq "one line" 1 "$(wc -l < "$TMP/err")"
cp tbs.sig bad.sig; printf '\x00' | dd of=bad.sig bs=1 seek=100 conv=notrunc 2>/dev/null
check_eq "tampered signature (exit 3)" 3 \
  "$(code "$BOOTSEAL" sign --cert db.crt --signed-data tbs.der --signed-data-signature bad.sig -o x.efi uki.efi)"
grep -q "signature does not verify" "$TMP/err" && pass || fail "tampered: $(cat "$TMP/err")"
check_eq "signature by another key than --cert's (exit 3)" 3 \
  "$(code "$BOOTSEAL" sign --cert other.crt --signed-data tbs.der --signed-data-signature tbs.sig -o x.efi uki.efi)"
check_eq "not DER attributes (exit 3)" 3 \
  "$(code "$BOOTSEAL" sign --cert db.crt --signed-data db.crt --signed-data-signature tbs.sig -o x.efi uki.efi)"
grep -q "not a DER set of PKCS#7 signed attributes" "$TMP/err" && pass || fail "not DER: $(cat "$TMP/err")"
[ ! -e x.efi ] && [ ! -e uki.efi.signed ] && pass || fail "a refused offline signing wrote an image"
check_eq "--prepare-offline-signing without -o (exit 2)" 2 "$(code "$BOOTSEAL" sign --prepare-offline-signing --cert db.crt uki.efi)"
check_eq "--key with --signed-data-signature (exit 2)" 2 \
  "$(code "$BOOTSEAL" sign --key db.pem --cert db.crt --signed-data tbs.der --signed-data-signature tbs.sig uki.efi)"
check_eq "--signed-data-signature without --signed-data (exit 2)" 2 \
  "$(code "$BOOTSEAL" sign --cert db.crt --signed-data-signature tbs.sig uki.efi)"
check_eq "no key and no offline option (exit 2)" 2 "$(code "$BOOTSEAL" sign --cert db.crt uki.efi)"
check_eq "uki build --unsigned with --sign-key (exit 2)" 2 \
  "$(code "$BOOTSEAL" uki build "${common[@]}" --unsigned --sign-key db.pem --sign-cert db.crt --output y.efi)"
[ ! -e y.efi ] && pass || fail "y.efi written"
finish
