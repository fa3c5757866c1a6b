#!/bin/bash
# Secure Boot key sets: bootseal keys generate makes PK/KEK/db keys,
# certificates, .esl and .auth files that efitools reads and that equal
# efitools' own output byte for byte (RSA: deterministic PKCS#1 v1.5); our
# parser reads efitools' cert-to-efi-sig-list / sign-efi-sig-list output; the
# .auth structure and signatures are also checked with python + openssl cms;
# virt-firmware (virt-fw-sigdb, virt-fw-vars) reads the lists and updates.
set -euo pipefail
: "${BOOTSEAL:?}"
for t in cert-to-efi-sig-list sign-efi-sig-list sig-list-to-certs openssl python3 virt-fw-sigdb virt-fw-vars; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed (tools/setup installs efitools, python3-virt-firmware)"; exit 77; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, expected $want"; }
}
TS="2025-06-01 12:34:56"
GUID=6e1c1b2a-9d3f-4c55-8a7e-0123456789ab

# check_auth DIR VAR SIGNER_CERT: structure of DIR/VAR.auth by hand (python),
# then its PKCS#7 verified by openssl cms against SIGNER_CERT over
# VariableName||VendorGuid||Attributes||TimeStamp||Data.
check_auth() {
  python3 - "$1/$2.auth" "$2" "$TS" > payload.bin 2> auth_err.txt <<'PY' || { cat auth_err.txt; fail "$1/$2.auth structure"; }
import struct, sys, uuid
d = open(sys.argv[1], 'rb').read(); var = sys.argv[2]; ts = sys.argv[3]
year, mon, day, hour, mi, sec, pad1, ns, tz, dl, pad2 = struct.unpack_from('<HBBBBBBIhBB', d, 0)
assert f"{year:04}-{mon:02}-{day:02} {hour:02}:{mi:02}:{sec:02}" == ts, "TimeStamp"
assert (pad1, ns, tz, dl, pad2) == (0, 0, 0, 0, 0), "EFI_TIME padding fields must be 0"
dwlen, rev, ctype = struct.unpack_from('<IHH', d, 16)
assert rev == 0x0200 and ctype == 0x0EF1, "WIN_CERTIFICATE header"
assert uuid.UUID(bytes_le=d[24:40]) == uuid.UUID('4aafd29d-68df-49ee-8aa9-347d375665a7'), "CertType"
p7 = d[40:16 + dwlen]
assert p7[0] == 0x30, "CertData is a DER SEQUENCE"
data = d[16 + dwlen:]
# The data is one EFI_SIGNATURE_LIST of type X509.
assert uuid.UUID(bytes_le=data[:16]) == uuid.UUID('a5c059a1-94e4-4aa7-87b5-ab155c2bf072'), "SignatureType"
assert struct.unpack_from('<I', data, 16)[0] == len(data), "SignatureListSize"
vendor = uuid.UUID('8be4df61-93ca-11d2-aa0d-00e098032b8c') if var in ('PK', 'KEK') else uuid.UUID('d719b2cb-3d3a-4596-a3bc-dad00e67656f')
attrs = 0x27  # NV | BS | RT | TIME_BASED_AUTHENTICATED_WRITE_ACCESS
sys.stdout.buffer.write(var.encode('utf-16-le') + vendor.bytes_le + struct.pack('<I', attrs) + d[:16] + data)
# Wrap the bare SignedData in a ContentInfo for openssl.
def tlv(tag, v):
    n = len(v)
    if n < 0x80: l = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, 'big'); l = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + l + v
ci = tlv(0x30, bytes.fromhex('06092a864886f70d010702') + tlv(0xa0, p7))
open('p7.der', 'wb').write(ci)
PY
  openssl cms -verify -binary -inform DER -in p7.der -content payload.bin -CAfile "$3" -partial_chain \
    -purpose any -out /dev/null 2>cms.txt || { cat cms.txt; fail "openssl cms rejects $1/$2.auth signed by $3"; }
}

"$BOOTSEAL" keys generate --dir set --name "Test Co" --subject "O=Test Co,C=DE" --timestamp "$TS" --owner-guid $GUID >gen.txt
for v in PK KEK db; do
  for ext in key crt cer esl auth; do [ -s set/$v.$ext ] || fail "missing set/$v.$ext"; done
  [ "$(stat -c %a set/$v.key)" = 600 ] || fail "$v.key mode is $(stat -c %a set/$v.key), expected 600"
  openssl x509 -in set/$v.crt -noout -subject | grep -q "CN = Test Co $v, O = Test Co, C = DE" || fail "$v subject"
done
[ "$(cat set/GUID.txt)" = $GUID ] || fail "GUID.txt"
openssl x509 -in set/db.crt -noout -ext extendedKeyUsage | grep -q "Code Signing" || fail "db lacks code signing usage"
openssl x509 -in set/PK.crt -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "PK is not a CA"
openssl x509 -in set/KEK.crt -noout -startdate | grep -q "Jun  1 12:34:56 2025 GMT" || fail "notBefore = --timestamp"
echo "ok: generate (files, modes, subjects, usages)"

# efitools reads our lists, and makes the same ones.
for v in PK KEK db; do
  cert-to-efi-sig-list -g $GUID set/$v.crt ef_$v.esl >/dev/null
  cmp set/$v.esl ef_$v.esl || fail "$v.esl differs from cert-to-efi-sig-list's"
  sig-list-to-certs set/$v.esl out_$v >/dev/null
  openssl x509 -in set/$v.crt -outform DER -out $v.der
  cmp out_$v-0.der $v.der || fail "sig-list-to-certs does not return $v's certificate"
  cmp set/$v.cer $v.der || fail "$v.cer is not the DER of $v.crt"
done
echo "ok: .esl byte-identical to cert-to-efi-sig-list; sig-list-to-certs reads ours"

# .auth: byte-identical to sign-efi-sig-list -t with the same key, cert, GUID, time.
sign-efi-sig-list -t "$TS" -k set/PK.key -c set/PK.crt PK set/PK.esl ef_PK.auth >/dev/null
sign-efi-sig-list -t "$TS" -k set/PK.key -c set/PK.crt KEK set/KEK.esl ef_KEK.auth >/dev/null
sign-efi-sig-list -t "$TS" -k set/KEK.key -c set/KEK.crt db set/db.esl ef_db.auth >/dev/null
for v in PK KEK db; do cmp set/$v.auth ef_$v.auth || fail "$v.auth differs from sign-efi-sig-list's"; done
echo "ok: .auth byte-identical to sign-efi-sig-list"

# virt-firmware (python3-virt-firmware) reads our lists, writes the same bytes,
# and takes our db.auth as an authenticated update (its dbx-update path).
virt-fw-sigdb -i set/db.esl -p | grep "subject CN=Test Co db" >/dev/null || fail "virt-fw-sigdb cannot read db.esl"
virt-fw-sigdb --add-cert $GUID set/db.crt -o vfw_db.esl
cmp vfw_db.esl set/db.esl || fail "db.esl differs from virt-fw-sigdb's"
VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
if [ -f $VARS ]; then
  virt-fw-vars -i $VARS -o vars.fd --set-dbx set/db.auth >/dev/null 2>&1 || fail "virt-fw-vars rejects db.auth"
  virt-fw-vars -i vars.fd -p 2>/dev/null | grep "dbx .*blob: $(stat -c %s set/db.esl) bytes" >/dev/null || fail "virt-fw-vars: db.auth payload"
fi
echo "ok: virt-firmware reads .esl and .auth"

check_auth set PK set/PK.crt
check_auth set KEK set/PK.crt
check_auth set db set/KEK.crt
echo "ok: .auth structure and signatures (python + openssl cms)"

# Our parser reads efitools' output and checks the signer.
"$BOOTSEAL" -q keys inspect --cert set/PK.crt --var KEK ef_KEK.auth >/dev/null || fail "inspect efitools KEK.auth"
"$BOOTSEAL" -q keys inspect --cert set/KEK.crt --var db ef_db.auth >/dev/null || fail "inspect efitools db.auth"
"$BOOTSEAL" --json keys inspect ef_PK.esl > insp.json
python3 -c "import json,sys; j=json.load(open('insp.json')); s=j['lists'][0]['signatures'][0]; assert s['owner']=='$GUID' and 'Test Co PK' in s['subject'], j"
for v in PK KEK db; do "$BOOTSEAL" -q keys inspect --cert set/$([ $v = db ] && echo KEK || echo PK).crt set/$v.auth || fail "inspect our $v.auth"; done
expect_rc 1 "$BOOTSEAL" keys inspect --cert set/PK.crt set/db.auth
grep -q "wrong signer" err.txt || fail "db.auth checked against PK: $(cat err.txt)"
expect_rc 1 "$BOOTSEAL" keys inspect --cert set/PK.crt --var db set/KEK.auth
echo "ok: bootseal reads efitools' .esl/.auth and checks signers"

# Never overwrite without --force; --force replaces atomically.
sum=$(cat set/* | sha256sum)
expect_rc 3 "$BOOTSEAL" keys generate --dir set --timestamp "$TS"
grep -q "exists; use --force" err.txt || fail "overwrite without --force: $(cat err.txt)"
[ "$(cat set/* | sha256sum)" = "$sum" ] || fail "files changed by a refused generate"
"$BOOTSEAL" -q keys generate --dir set --force --timestamp "$TS"
[ "$(cat set/* | sha256sum)" != "$sum" ] || fail "--force did not replace the keys"
[ "$(stat -c %a set/PK.key)" = 600 ] || fail "PK.key mode after --force"
ls -A set | grep -v -E '^(PK|KEK|db)\.(key|crt|cer|esl|auth)$|^GUID.txt$' && fail "stray files in set/"
echo "ok: --force"

"$BOOTSEAL" --json keys generate --dir js --timestamp "$TS" --owner-guid $GUID > gen.json
python3 - gen.json <<'PY2'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["owner_guid"] == "6e1c1b2a-9d3f-4c55-8a7e-0123456789ab" and j["timestamp"] == "2025-06-01 12:34:56", j
assert j["certificates"]["db"]["subject"] == "CN=bootseal db", j
assert set(j["files"]) == {f"{v}.{e}" for v in ("PK", "KEK", "db") for e in ("key", "crt", "cer", "esl", "auth")} | {"GUID.txt"}, j
PY2

# Other key types: files efitools and openssl accept.
for kt in rsa4096 ec-p256; do
  "$BOOTSEAL" -q keys generate --dir $kt --key-type $kt --timestamp "$TS" --owner-guid $GUID
  check_auth $kt PK $kt/PK.crt
  check_auth $kt KEK $kt/PK.crt
  check_auth $kt db $kt/KEK.crt
  sig-list-to-certs $kt/db.esl o_$kt >/dev/null
  sign-efi-sig-list -t "$TS" -k $kt/KEK.key -c $kt/KEK.crt db $kt/db.esl ef_$kt.auth >/dev/null
  "$BOOTSEAL" -q keys inspect --cert $kt/KEK.crt --var db ef_$kt.auth || fail "$kt: efitools db.auth"
done
openssl x509 -in ec-p256/PK.crt -noout -text | grep -q "prime256v1" || fail "ec-p256 key is not P-256"
openssl x509 -in rsa4096/PK.crt -noout -text | grep -q "4096 bit" || fail "rsa4096 key size"
cmp rsa4096/db.auth ef_rsa4096.auth || fail "rsa4096 db.auth differs from sign-efi-sig-list's"
echo "ok: rsa4096 and ec-p256"

# Extra certificates in KEK and db (e.g. a vendor CA): more lists, still efitools-identical.
openssl req -x509 -newkey rsa:2048 -nodes -keyout vendor.key -out vendor.crt -subj /CN=vendor -days 30 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout vendor2.key -out vendor2.crt -subj /CN=vendor2 -days 30 2>/dev/null
cat vendor.crt vendor2.crt > bundle.pem
"$BOOTSEAL" -q keys generate --dir extra --timestamp "$TS" --owner-guid $GUID --add-db-cert bundle.pem --add-kek-cert vendor.crt
sig-list-to-certs extra/db.esl xdb >/dev/null
[ -f xdb-2.der ] && [ ! -f xdb-3.der ] || fail "db.esl should hold 3 certificates"
openssl x509 -inform DER -in xdb-2.der -noout -subject | grep -q vendor2 || fail "third db certificate"
cert-to-efi-sig-list -g $GUID extra/db.crt l0.esl >/dev/null
cert-to-efi-sig-list -g $GUID vendor.crt l1.esl >/dev/null
cert-to-efi-sig-list -g $GUID vendor2.crt l2.esl >/dev/null
cat l0.esl l1.esl l2.esl | cmp - extra/db.esl || fail "db.esl with extra certificates differs from efitools' lists"
sign-efi-sig-list -t "$TS" -k extra/KEK.key -c extra/KEK.crt db extra/db.esl ef_xdb.auth >/dev/null
cmp extra/db.auth ef_xdb.auth || fail "db.auth with extra certificates differs from sign-efi-sig-list's"
sig-list-to-certs extra/KEK.esl xkek >/dev/null
[ -f xkek-1.der ] || fail "KEK.esl should hold 2 certificates"
"$BOOTSEAL" -q keys inspect --cert extra/PK.crt extra/KEK.auth || fail "KEK.auth with extra certificate"
echo "ok: --add-db-cert / --add-kek-cert"

# Bad input: bad option values are usage errors (2), bad files input errors (3).
expect_rc 2 "$BOOTSEAL" keys generate --dir bad --key-type rsa1024
grep -q "key-type: rsa1024 not in" err.txt || fail "bad key type: $(cat err.txt)"
expect_rc 2 "$BOOTSEAL" keys generate --dir bad --owner-guid not-a-guid
grep -q "invalid GUID" err.txt || fail "bad GUID: $(cat err.txt)"
expect_rc 2 "$BOOTSEAL" keys generate --dir bad --timestamp "yesterday"
grep -q "invalid timestamp" err.txt || fail "bad timestamp: $(cat err.txt)"
[ ! -e bad ] || fail "bad/ created despite errors"
head -c 100 /dev/urandom > junk.bin
expect_rc 3 "$BOOTSEAL" keys inspect junk.bin
[ "$(wc -l < err.txt)" = 1 ] || fail "junk: one-line error expected: $(cat err.txt)"
head -c 500 set/db.auth > trunc.auth
expect_rc 3 "$BOOTSEAL" keys inspect trunc.auth
expect_rc 3 "$BOOTSEAL" keys inspect missing.auth
grep -q "missing.auth" err.txt || fail "missing file: $(cat err.txt)"
echo "ok: bad input"
echo PASS
