#!/usr/bin/env bash
# Signing keys where they belong (issue 13): a PE image and a UKI signed with an
# RSA key that lives in a SoftHSM2 token (PKCS#11 URI, OpenSSL 3's pkcs11
# provider) are accepted by sbverify and are byte-identical to signing with the
# same key from a PEM file (RSA PKCS#1 v1.5 is deterministic); an encrypted PEM
# key reads its passphrase from --key-passphrase-file and, with no terminal and no
# file, is refused with one clear line.
source "$SRC/tests/lib.sh"
need softhsm2-util openssl sbverify setsid
[ -f /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so ] || { echo "SKIP: pkcs11-provider not installed (tools/setup)"; exit 77; }
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
SDBOOT=$PAY/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
KERNEL=$PAY/kernel/vmlinuz
[ -f "$SDBOOT" ] && [ -f "$KERNEL" ] || { echo "missing boot payloads: run tools/fetch-payloads"; exit 1; }
cd "$TMP"
export SOURCE_DATE_EPOCH=1750000000

# A token holding the db key; the PEM copy is only for the byte comparison.
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP" > softhsm2.conf
export SOFTHSM2_CONF=$TMP/softhsm2.conf PKCS11_PROVIDER_MODULE=/usr/lib/softhsm/libsofthsm2.so
softhsm2-util --init-token --free --label bootseal-test --pin 1234 --so-pin 5678 >/dev/null
openssl genrsa -out db.pem 2048 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in db.pem -out db.p8
softhsm2-util --import db.p8 --token bootseal-test --label db --id 01 --pin 1234 >/dev/null
openssl req -new -x509 -key db.pem -subj "/CN=bootseal pkcs11 test db" -days 30 -out db.crt 2>/dev/null
URI="pkcs11:token=bootseal-test;object=db;type=private?pin-value=1234"

"$BOOTSEAL" -q sign --key "$URI" --cert db.crt -o hsm.efi "$SDBOOT" 2>err.txt && pass || fail "sign with a PKCS#11 key: $(cat err.txt)"
"$BOOTSEAL" -q sign --key db.pem --cert db.crt -o pem.efi "$SDBOOT"
cmp -s hsm.efi pem.efi && pass || fail "token-signed image differs from the PEM-signed one"
sbverify --cert db.crt hsm.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the token signature"
"$BOOTSEAL" -q verify --cert db.crt hsm.efi >/dev/null && pass || fail "bootseal verify rejects the token signature"

# A UKI signed in the token while it is built.
common=(--linux "$KERNEL" --stub "$STUB" --cmdline "console=ttyS0" --os-release "ID=test" --uname 6.0-test)
"$BOOTSEAL" -q uki build "${common[@]}" --sign-key "$URI" --sign-cert db.crt --output uki-hsm.efi 2>err.txt \
  && pass || fail "uki build --sign-key PKCS#11: $(cat err.txt)"
"$BOOTSEAL" -q uki build "${common[@]}" --sign-key db.pem --sign-cert db.crt --output uki-pem.efi
cmp -s uki-hsm.efi uki-pem.efi && pass || fail "token-signed UKI differs from the PEM-signed one"
sbverify --cert db.crt uki-hsm.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the token-signed UKI"

expect_error "no such object" "no private key found|cannot open" \
  "$BOOTSEAL" sign --key "pkcs11:token=bootseal-test;object=nope;type=private?pin-value=1234" --cert db.crt -o x.efi "$SDBOOT"
[ ! -e x.efi ] && pass || fail "x.efi written after a key error"

# Encrypted PEM keys.
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:s3cret -in db.pem -out db-enc.pem
printf 's3cret\n' > pass.txt
printf 'wrong\n' > wrong.txt
"$BOOTSEAL" -q sign --key db-enc.pem --key-passphrase-file pass.txt --cert db.crt -o enc.efi "$SDBOOT" \
  && pass || fail "encrypted key with --key-passphrase-file"
cmp -s enc.efi pem.efi && pass || fail "encrypted-key signature differs"
expect_error "encrypted key, no terminal" "the key is encrypted: give its passphrase with --key-passphrase-file" \
  setsid -w "$BOOTSEAL" sign --key db-enc.pem --cert db.crt -o y.efi "$SDBOOT"
check_eq "one line" "1" "$(wc -l < "$TMP/err")"
expect_error "wrong passphrase" "wrong passphrase" \
  "$BOOTSEAL" sign --key db-enc.pem --key-passphrase-file wrong.txt --cert db.crt -o y.efi "$SDBOOT"
[ ! -e y.efi ] && pass || fail "y.efi written after a passphrase error"
finish
