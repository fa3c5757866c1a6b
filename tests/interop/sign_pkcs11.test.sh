#!/usr/bin/env bash
# Signing keys where they belong (issue 13): a PE image and a UKI signed with an
# RSA key that lives in a SoftHSM2 token (PKCS#11 URI, OpenSSL 3's pkcs11
# provider) are accepted by sbverify and are byte-identical to signing with the
# same key from a PEM file (RSA PKCS#1 v1.5 is deterministic); an encrypted PEM
# key reads its passphrase from --key-passphrase-file and, with no terminal and no
# file, is refused with one clear line. Every other signing operation takes a
# token key too, with the bytes of the PEM path: `pcr sign` and `uki build
# --pcr-private-key` (the .pcrsig), `keys generate --pk-key/--kek-key/--db-key`
# (the .auth updates signed by PK and KEK in the token; <var>.key then holds
# the URI line), `disk create --keys DIR` whose db.key is such a URI line, and
# `seal --keys DIR` the same;
# encrypted PEM keys work for each through --key-passphrase-file.
source "$SRC/tests/lib.sh"
need softhsm2-util openssl sbverify setsid sfdisk mtype debugfs depmod busybox umoci
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
# The PCR 11 policy signed in the token: pcr sign and uki build --pcr-private-key.
"$BOOTSEAL" -q uki build "${common[@]}" --output plain.efi
openssl rsa -in db.pem -pubout -out db.pub 2>/dev/null
"$BOOTSEAL" pcr sign plain.efi --private-key "$URI" --public-key db.pub -o pcr-hsm.json 2>err.txt \
  && pass || fail "pcr sign with a PKCS#11 key: $(cat err.txt)"
"$BOOTSEAL" pcr sign plain.efi --private-key db.pem --public-key db.pub -o pcr-pem.json
cmp -s pcr-hsm.json pcr-pem.json && pass || fail "token-signed PCR policy differs from the PEM-signed one"
"$BOOTSEAL" pcr sign plain.efi --private-key db-enc.pem --key-passphrase-file pass.txt -o pcr-enc.json \
  && cmp -s pcr-enc.json pcr-pem.json && pass || fail "pcr sign with an encrypted key and --key-passphrase-file"
expect_error "pcr sign: encrypted key, no terminal" "the key is encrypted: give its passphrase with --key-passphrase-file" \
  setsid -w "$BOOTSEAL" pcr sign plain.efi --private-key db-enc.pem -o z.json
pcr=(--pcr-public-key db.pub)
"$BOOTSEAL" -q uki build "${common[@]}" --pcr-private-key "$URI" "${pcr[@]}" --output pcr-hsm.efi 2>err.txt \
  && pass || fail "uki build --pcr-private-key PKCS#11: $(cat err.txt)"
"$BOOTSEAL" -q uki build "${common[@]}" --pcr-private-key db.pem "${pcr[@]}" --output pcr-pem.efi
cmp -s pcr-hsm.efi pcr-pem.efi && pass || fail "UKI with a token-signed .pcrsig differs from the PEM one"
"$BOOTSEAL" -q uki build "${common[@]}" --pcr-private-key db-enc.pem --key-passphrase-file pass.txt "${pcr[@]}" \
  --output pcr-enc.efi && cmp -s pcr-enc.efi pcr-pem.efi && pass || fail "uki build --pcr-private-key encrypted"

# A key set whose PK, KEK and db live in the token: the .auth files equal the
# ones the same keys make from PEM files; <var>.key holds the URI line.
for v in PK KEK; do
  openssl genrsa -out $v.pem 2048 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in $v.pem -out $v.p8
  softhsm2-util --import $v.p8 --token bootseal-test --label $v --id 0$([ $v = PK ] && echo 2 || echo 3) --pin 1234 >/dev/null
  openssl req -new -x509 -key $v.pem -subj "/CN=bootseal pkcs11 test $v" -days 30 -out $v.crt 2>/dev/null
done
uri() { echo "pkcs11:token=bootseal-test;object=$1;type=private?pin-value=1234"; }
kg=(--timestamp "2025-06-15 00:00:00" --owner-guid 11111111-2222-3333-4444-555555555555)
"$BOOTSEAL" -q keys generate --dir hsmkeys "${kg[@]}" --pk-key "$(uri PK)" --pk-cert PK.crt \
  --kek-key "$(uri KEK)" --kek-cert KEK.crt --db-key "$URI" --db-cert db.crt 2>err.txt \
  && pass || fail "keys generate with token keys: $(cat err.txt)"
"$BOOTSEAL" -q keys generate --dir pemkeys "${kg[@]}" --pk-key PK.pem --pk-cert PK.crt \
  --kek-key KEK.pem --kek-cert KEK.crt --db-key db.pem --db-cert db.crt
for f in PK.auth KEK.auth db.auth PK.esl db.esl; do
  cmp -s hsmkeys/$f pemkeys/$f && pass || fail "keys generate: token-signed $f differs from the PEM-signed one"
done
check_eq "PK.key names the token key" "$(uri PK)" "$(cat hsmkeys/PK.key)"
[ ! -e pemkeys/PK.key ] && pass || fail "a PEM --pk-key was copied into the key set"
"$BOOTSEAL" -q keys inspect --cert PK.crt hsmkeys/KEK.auth >/dev/null && pass || fail "KEK.auth not signed by PK"
"$BOOTSEAL" -q keys inspect --cert KEK.crt hsmkeys/db.auth >/dev/null && pass || fail "db.auth not signed by KEK"
expect_error "keys generate: key and certificate differ" "does not match its certificate" \
  "$BOOTSEAL" keys generate --dir badkeys --pk-key "$(uri PK)" --pk-cert KEK.crt
[ ! -e badkeys ] && pass || fail "badkeys written"
"$BOOTSEAL" -q keys generate --dir enckeys "${kg[@]}" --pk-key PK.pem --pk-cert PK.crt --kek-key KEK.pem \
  --kek-cert KEK.crt --db-key db-enc.pem --db-cert db.crt --key-passphrase-file pass.txt \
  && cmp -s enckeys/db.auth pemkeys/db.auth && pass || fail "keys generate with an encrypted --db-key"

# disk create --keys DIR whose db.key is the token URI: the sealed UKI equals the
# one sealed with the PEM db.key; an encrypted db.key reads --key-passphrase-file.
source "$SRC/tests/lib/sealed_root.sh"
mkroot root
"$BOOTSEAL" -q repo init --repo repo >/dev/null
"$BOOTSEAL" -q image import --repo repo --ref r "dir:$TMP/root" >/dev/null 2>&1
cp db.pem pemkeys/db.key
"$BOOTSEAL" -q disk create --repo repo --image r --keys hsmkeys -o hsm.raw 2>err.txt \
  && pass || fail "disk create with db.key in the token: $(cat err.txt)"
"$BOOTSEAL" -q disk create --repo repo --image r --keys pemkeys -o pem.raw
cmp -s hsm.raw.uki.efi pem.raw.uki.efi && pass || fail "UKI sealed with the token db key differs from the PEM one"
sbverify --cert db.crt hsm.raw.uki.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the token-sealed UKI"
cp db-enc.pem enckeys/db.key
"$BOOTSEAL" -q disk create --repo repo --image r --keys enckeys --key-passphrase-file pass.txt -o enc.raw \
  && cmp -s enc.raw.uki.efi pem.raw.uki.efi && pass || fail "disk create with an encrypted db.key"
expect_error "disk create: encrypted db.key, no terminal" "the key is encrypted: give its passphrase with --key-passphrase-file" \
  setsid -w "$BOOTSEAL" disk create --repo repo --image r --keys enckeys -o enc2.raw
[ ! -e enc2.raw ] && pass || fail "enc2.raw written after a passphrase error"

# seal --keys DIR whose db.key is the token URI (umoci builds the OCI image): the UKI
# in the sealed image equals the one sealed with the PEM db.key, and sbverify takes it.
umoci init --layout lay >/dev/null && umoci new --image lay:1 >/dev/null
umoci config --image lay:1 --architecture amd64 --os linux >/dev/null && umoci insert --image lay:1 root / >/dev/null
"$BOOTSEAL" -q seal oci:lay:1 --build-initrd --keys hsmkeys -o oci:slay:hsm --uki-out seal-hsm.efi 2>err.txt \
  && pass || fail "seal with db.key in the token: $(cat err.txt)"
"$BOOTSEAL" -q seal oci:lay:1 --build-initrd --keys pemkeys -o oci:slay:pem --uki-out seal-pem.efi
cmp -s seal-hsm.efi seal-pem.efi && pass || fail "seal: the token-signed UKI differs from the PEM-signed one"
sbverify --cert db.crt seal-hsm.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the token-sealed image's UKI"
"$BOOTSEAL" -q seal oci:lay:1 --build-initrd --keys enckeys --key-passphrase-file pass.txt -o oci:slay:enc --uki-out seal-enc.efi \
  && cmp -s seal-enc.efi seal-pem.efi && pass || fail "seal with an encrypted db.key"
finish
