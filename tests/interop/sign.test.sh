#!/bin/bash
# Authenticode interop: sbverify accepts bootseal's signatures on real PE files
# (systemd-boot, the kernel) and rejects them after a one-byte change anywhere
# in the signed range; bootseal verify accepts sbsign's and pesign's
# signatures; bootseal's signature equals sbsign's byte for byte for the same
# key and signing time; --append, re-signing, unsign, and the bad-input errors.
set -euo pipefail
: "${BOOTSEAL:?}"
PAYLOADS=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
SDBOOT=$PAYLOADS/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
KERNEL=$PAYLOADS/kernel/vmlinuz
for t in sbsign sbverify pesign certutil pk12util openssl python3; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed (tools/setup installs it)"; exit 77; }
done
[ -f "$SDBOOT" ] && [ -f "$KERNEL" ] || { echo "SKIP: boot payloads missing (tools/fetch-payloads)"; exit 77; }

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_rc CODE CMD...: run CMD, require exit code CODE, keep stderr in err.txt
expect_rc() {
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, expected $want"; }
}
# flip OFFSET IN OUT: copy IN to OUT with byte OFFSET inverted
flip() { python3 -c "import sys;d=bytearray(open(sys.argv[2],'rb').read());d[int(sys.argv[1])]^=0xff;open(sys.argv[3],'wb').write(d)" "$@"; }
# pe_offsets FILE: the offsets to tamper with, one per line: header bytes (DOS
#   header, TimeDateStamp, the directory entry after the security directory, each
#   section header), the first, middle and last raw byte of each section, the
#   last byte before the certificate table; then "cksum <offset of CheckSum>".
pe_offsets() {
  python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
nsec, optsz = struct.unpack_from('<H', d, pe + 6)[0], struct.unpack_from('<H', d, pe + 20)[0]
opt = pe + 24
print(2)       # DOS header e_cblp
print(pe + 8)  # TimeDateStamp
print(opt + 112 + 4 * 8 + 8)  # the data directory entry after the security directory
for i in range(nsec):
    sh = opt + optsz + 40 * i
    print(sh)  # section header name
    size, ptr = struct.unpack_from('<II', d, sh + 16)
    if size:
        print(ptr)                 # first, middle and last raw byte of each section
        print(ptr + size // 2)
        print(ptr + size - 1)
cva, csz = struct.unpack_from('<II', d, opt + 112 + 4 * 8)
print(cva - 1)
print('cksum', opt + 64)
PY
}
nsigs() { python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
n, off = 0, va
while off + 8 <= va + sz:
    ln = struct.unpack_from('<I', d, off)[0]
    n += 1
    off += (ln + 7) & ~7
print(n)
PY
}

# Keys: a db key from bootseal keys generate (code-signing usage) and a second
# unrelated key made by openssl.
"$BOOTSEAL" -q keys generate --dir keys --owner-guid 11111111-2222-3333-4444-555555555555
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -subj /CN=other -days 30 2>/dev/null

cp "$SDBOOT" sdboot.efi
cp "$KERNEL" vmlinuz   # Debian's signed kernel: already has a signature
cp "$(dirname "$SDBOOT")/linuxx64.efi.stub" stub.efi

for img in sdboot.efi vmlinuz stub.efi; do
  "$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt --output $img.signed $img
  sbverify --cert keys/db.crt $img.signed >/dev/null || fail "sbverify rejects bootseal's signature on $img"
  "$BOOTSEAL" verify --cert keys/db.crt $img.signed >/dev/null || fail "bootseal verify rejects its own signature on $img"
  [ "$(nsigs $img.signed)" = 1 ] || fail "$img.signed should have exactly one signature (re-signing replaces)"
  # One-byte changes inside the signed range.
  n=0
  while read -r off; do
    case $off in
      cksum*)
        # The CheckSum field is outside the signed range: still accepted.
        flip "${off#cksum }" $img.signed t.efi
        sbverify --cert keys/db.crt t.efi >/dev/null || fail "sbverify rejects a CheckSum-only change in $img"
        "$BOOTSEAL" -q verify --cert keys/db.crt t.efi || fail "bootseal rejects a CheckSum-only change in $img"
        ;;
      *)
        flip "$off" $img.signed t.efi
        if sbverify --cert keys/db.crt t.efi >sbv.txt 2>&1; then fail "sbverify accepts $img with byte $off changed"; fi
        grep -q "fails hash check" sbv.txt || { cat sbv.txt; fail "sbverify: unexpected reason for byte $off of $img"; }
        expect_rc 1 "$BOOTSEAL" verify --cert keys/db.crt t.efi
        grep -q "hash mismatch" err.txt || { cat err.txt; fail "bootseal verify: no 'hash mismatch' for byte $off of $img"; }
        n=$((n + 1))
        ;;
    esac
  done < <(pe_offsets $img.signed)
  [ $n -ge 3 ] || fail "too few tampering positions in $img ($n)"
  echo "ok: $img signed by bootseal, sbverify accepts it, and rejects $n one-byte changes"
done

# bootseal verify accepts sbsign's and pesign's signatures.
sbsign --key keys/db.key --cert keys/db.crt --output sd.sbsign sdboot.efi 2>/dev/null
"$BOOTSEAL" verify --cert keys/db.crt sd.sbsign >/dev/null || fail "bootseal verify rejects sbsign's signature"
sbsign --key keys/db.key --cert keys/db.crt --output k.sbsign vmlinuz 2>/dev/null
"$BOOTSEAL" verify --cert keys/db.crt k.sbsign >/dev/null || fail "bootseal verify rejects sbsign's signature on the kernel"
mkdir nss
certutil -N -d nss --empty-password
openssl pkcs12 -export -in keys/db.crt -inkey keys/db.key -name dbkey -out db.p12 -passout pass:
pk12util -i db.p12 -d nss -W "" >/dev/null
pesign -n nss -c dbkey -s -i sdboot.efi -o sd.pesign --force >/dev/null 2>&1
"$BOOTSEAL" verify --cert keys/db.crt sd.pesign >/dev/null || fail "bootseal verify rejects pesign's signature"
"$BOOTSEAL" -q unsign --output k.unsigned vmlinuz
pesign -n nss -c dbkey -s -i k.unsigned -o k.pesign --force >/dev/null 2>&1
"$BOOTSEAL" verify --cert keys/db.crt k.pesign >/dev/null || fail "bootseal verify rejects pesign's signature on the kernel"
pesign -S -i sdboot.efi.signed > pesign.txt 2>&1 || { cat pesign.txt; fail "pesign cannot read bootseal's signature"; }
grep -q "common name is bootseal db" pesign.txt || { cat pesign.txt; fail "pesign: signer of bootseal's signature"; }
echo "ok: bootseal verify accepts sbsign and pesign signatures; pesign reads bootseal's"

# Byte-identical to sbsign: same key, same signingTime (taken from sbsign's
# output). sbsign adds a signature to an already signed image (the Debian
# kernel): that is bootseal's --append.
# k.odd: trailing data of odd length, padded to 8 bytes before the table.
python3 -c "import sys;d=open(sys.argv[1],'rb').read();open(sys.argv[2],'wb').write(d+b'\x5a'*3)" k.unsigned k.odd
for case in sdboot.efi: k.unsigned: k.odd: vmlinuz:--append; do
  img=${case%%:*} mode=${case#*:}
  sbsign --key keys/db.key --cert keys/db.crt --output ref.efi $img 2>/dev/null
  epoch=$(python3 - ref.efi <<'PY'
import re, struct, sys, datetime
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
sig = d[va:va + sz]
# signingTime attribute: OID 1.2.840.113549.1.9.5, SET { UTCTime }
i = sig.rindex(bytes.fromhex('06092a864886f70d010905'))  # the last signature's
t = sig[i + 11 + 4:i + 11 + 4 + 13].decode()
print(int(datetime.datetime.strptime(t, '%y%m%d%H%M%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()))
PY
)
  SOURCE_DATE_EPOCH=$epoch "$BOOTSEAL" -q sign $mode --key keys/db.key --cert keys/db.crt --output ours.efi $img
  cmp ours.efi ref.efi || fail "bootseal's signed $img ($mode) differs from sbsign's"
done
echo "ok: bootseal sign output is byte-identical to sbsign's (RSA, same signing time)"

# --in-place: the input is mapped while the output replaces it; the result
# equals signing to another file. Without --output or --in-place the input is
# kept and IN.signed written, as sbsign does.
cp sdboot.efi inplace-sign.efi
cp sdboot.efi default-sign.efi
SOURCE_DATE_EPOCH=1750000000 "$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt --output to-file.efi sdboot.efi
SOURCE_DATE_EPOCH=1750000000 "$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt --in-place inplace-sign.efi
cmp inplace-sign.efi to-file.efi || fail "signing in place differs from signing to --output"
SOURCE_DATE_EPOCH=1750000000 "$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt default-sign.efi
cmp default-sign.efi sdboot.efi || fail "sign without --output or --in-place changed its input"
cmp default-sign.efi.signed to-file.efi || fail "sign without --output did not write IN.signed"
if "$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt --in-place --output x.efi default-sign.efi 2>/dev/null; then
  fail "--in-place with --output accepted"
fi
echo "ok: sign in place / IN.signed by default"

# --append adds a second WIN_CERTIFICATE; both verify; sbverify accepts.
"$BOOTSEAL" -q sign --key other.key --cert other.crt --append --output two.efi sdboot.efi.signed 2>/dev/null
[ "$(nsigs two.efi)" = 2 ] || fail "--append should give two signatures"
sbverify --cert keys/db.crt two.efi >/dev/null || fail "sbverify rejects the first of two signatures"
sbverify --cert other.crt two.efi >/dev/null || fail "sbverify rejects the appended signature"
"$BOOTSEAL" -q verify --cert keys/db.crt two.efi || fail "bootseal rejects the first of two signatures"
"$BOOTSEAL" -q verify --cert other.crt two.efi || fail "bootseal rejects the appended signature"
"$BOOTSEAL" --json verify --cert other.crt two.efi > v.json
python3 - v.json <<'PY2'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] and j["signed"] and len(j["signatures"]) == 2, j
a, b = j["signatures"]
assert not a["ok"] and "wrong signer" in a["problem"] and a["hash_ok"], a
assert b["ok"] and b["signer"] == "CN=other" and b["digest_algorithm"] == "SHA256", b
PY2
# Re-signing without --append replaces both.
"$BOOTSEAL" -q sign --key other.key --cert other.crt --output one.efi two.efi 2>/dev/null
[ "$(nsigs one.efi)" = 1 ] || fail "re-signing should replace the signatures"
expect_rc 1 "$BOOTSEAL" verify --cert keys/db.crt one.efi
grep -q "wrong signer" err.txt || fail "verify with the wrong cert should say 'wrong signer': $(cat err.txt)"
[ "$(wc -l < err.txt)" = 1 ] || fail "error should be one line"
echo "ok: --append, re-signing, wrong signer"

# unsign restores the unsigned image (as sbattach --remove does) and in place.
"$BOOTSEAL" -q unsign --output u.efi sdboot.efi.signed
cp sdboot.efi.signed r.efi && sbattach --remove r.efi >/dev/null 2>&1
cmp u.efi r.efi || fail "unsign differs from sbattach --remove"
expect_rc 1 "$BOOTSEAL" verify --cert keys/db.crt u.efi
grep -q "no signature" err.txt || fail "unsigned image: expected 'no signature': $(cat err.txt)"
cp two.efi inplace.efi && "$BOOTSEAL" -q unsign inplace.efi && cmp inplace.efi u.efi || fail "in-place unsign"
expect_rc 3 "$BOOTSEAL" unsign u.efi
grep -q "not signed" err.txt || fail "unsign of an unsigned image: $(cat err.txt)"
echo "ok: unsign"

# Bad input: one clear line each, no output left behind.
echo "hello" > notpe.txt
expect_rc 3 "$BOOTSEAL" sign --key keys/db.key --cert keys/db.crt --output x.efi notpe.txt
grep -q "not a PE image" err.txt || fail "not a PE: $(cat err.txt)"
[ ! -e x.efi ] || fail "output left behind"
expect_rc 3 "$BOOTSEAL" verify --cert keys/db.crt notpe.txt
grep -q "not a PE image" err.txt || fail "verify not a PE: $(cat err.txt)"
expect_rc 3 "$BOOTSEAL" sign --key other.key --cert keys/db.crt --output x.efi sdboot.efi
grep -q "does not match certificate" err.txt || fail "wrong key: $(cat err.txt)"
[ ! -e x.efi ] || fail "output left behind"
expect_rc 3 "$BOOTSEAL" sign --key missing.key --cert keys/db.crt sdboot.efi
grep -q "missing.key" err.txt || fail "missing key: $(cat err.txt)"
expect_rc 3 "$BOOTSEAL" sign --key keys/db.key --cert keys/db.crt missing.efi
grep -q "missing.efi" err.txt || fail "missing input: $(cat err.txt)"
expect_rc 3 "$BOOTSEAL" verify --cert missing.crt sdboot.efi.signed
grep -q "missing.crt" err.txt || fail "missing cert: $(cat err.txt)"
expect_rc 3 "$BOOTSEAL" sign --key keys/db.key --cert keys/db.key sdboot.efi
grep -q "certificate" err.txt || fail "key given as cert: $(cat err.txt)"
# Certificate table pointing outside the file.
python3 - sdboot.efi.signed bad.efi <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
struct.pack_into('<I', d, pe + 24 + 112 + 32 + 4, 0x7fffffff)
open(sys.argv[2], 'wb').write(d)
PY
expect_rc 3 "$BOOTSEAL" verify --cert keys/db.crt bad.efi
grep -q "outside the file" err.txt || fail "cert table outside file: $(cat err.txt)"
[ "$(wc -l < err.txt)" = 1 ] || fail "error should be one line: $(cat err.txt)"
# Corrupt PKCS#7 inside the WIN_CERTIFICATE: malformed.
python3 - sdboot.efi.signed badp7.efi <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
d[va + 8] = 0x04  # SEQUENCE tag -> OCTET STRING
open(sys.argv[2], 'wb').write(d)
PY
expect_rc 1 "$BOOTSEAL" verify --cert keys/db.crt badp7.efi
grep -q "malformed" err.txt || fail "bad PKCS#7: $(cat err.txt)"
# Tampered signature bytes (the RSA signature value is the last 256 bytes of the DER).
python3 - sdboot.efi.signed badsig.efi <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
ln = struct.unpack_from('<I', d, va)[0]
d[va + ln - 10] ^= 1
open(sys.argv[2], 'wb').write(d)
PY
expect_rc 1 "$BOOTSEAL" verify --cert keys/db.crt badsig.efi
grep -q "signature does not verify" err.txt || fail "bad signature value: $(cat err.txt)"
if sbverify --cert keys/db.crt badsig.efi >/dev/null 2>&1; then fail "sbverify accepts a corrupted signature"; fi
# Expired and non-code-signing certificates: warnings, signing still works.
"$BOOTSEAL" -q keys generate --dir old --timestamp "2001-01-01 00:00:00" --days 2
"$BOOTSEAL" -q sign --key old/db.key --cert old/db.crt --output o.efi sdboot.efi 2>err.txt
grep -q "expired" err.txt || fail "no warning for an expired certificate"
"$BOOTSEAL" -q sign --key other.key --cert other.crt --output o.efi sdboot.efi 2>err.txt
grep -q "no code-signing" err.txt || fail "no warning for a non-code-signing certificate"
sbverify --cert other.crt o.efi >/dev/null || fail "sbverify rejects signature by a certificate without EKU"
echo "ok: bad input"

# Certificate chains: root -> intermediate -> leaf; --addcert embeds the
# intermediate so both verifiers chain the leaf to the root.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.crt -subj /CN=root -days 30 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj /CN=intermediate 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n' > int.ext
openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -CAcreateserial -out int.crt -days 30 -extfile int.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=leaf 2>/dev/null
printf 'extendedKeyUsage=codeSigning\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA int.crt -CAkey int.key -CAcreateserial -out leaf.crt -days 30 -extfile leaf.ext 2>/dev/null
"$BOOTSEAL" -q sign --key leaf.key --cert leaf.crt --addcert int.crt --output chain.efi sdboot.efi
"$BOOTSEAL" -q verify --cert root.crt chain.efi || fail "bootseal: leaf does not chain to root via the embedded intermediate"
"$BOOTSEAL" -q verify --cert int.crt chain.efi || fail "bootseal: leaf does not chain to the intermediate"
sbverify --cert root.crt chain.efi >/dev/null || fail "sbverify: leaf does not chain to root"
sbsign --key leaf.key --cert leaf.crt --addcert int.crt --output chain.sbsign sdboot.efi 2>/dev/null
"$BOOTSEAL" -q verify --cert root.crt chain.sbsign || fail "bootseal rejects sbsign --addcert chain"
"$BOOTSEAL" -q sign --key leaf.key --cert leaf.crt --output nochain.efi sdboot.efi
expect_rc 1 "$BOOTSEAL" verify --cert root.crt nochain.efi
grep -q "wrong signer: signed by 'CN=leaf'" err.txt || fail "no chain: $(cat err.txt)"
echo "ok: certificate chains (--addcert)"

# EC keys: bootseal signs with ECDSA P-256 and verifies; OpenSSL's PKCS7 path in sbverify accepts it.
"$BOOTSEAL" -q keys generate --dir eckeys --key-type ec-p256
"$BOOTSEAL" -q sign --key eckeys/db.key --cert eckeys/db.crt --output ec.efi sdboot.efi
"$BOOTSEAL" -q verify --cert eckeys/db.crt ec.efi || fail "bootseal rejects its ECDSA signature"
sbverify --cert eckeys/db.crt ec.efi >/dev/null || fail "sbverify rejects bootseal's ECDSA signature"
echo "ok: ECDSA P-256"
echo PASS
