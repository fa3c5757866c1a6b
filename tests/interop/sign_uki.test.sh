#!/bin/bash
# Signed UKIs: `bootseal uki build --sign-key/--sign-cert` (the authenticode
# module behind uki build) gives a UKI sbverify accepts, byte-identical to
# sbsign applied to the same unsigned UKI at the same signing time; changing one
# byte of .cmdline breaks it for both verifiers.
set -euo pipefail
: "${BOOTSEAL:?}"
PAYLOADS=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
KERNEL=$PAYLOADS/kernel/vmlinuz
STUB=$PAYLOADS/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
for t in sbsign sbverify objdump python3; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -f "$KERNEL" ] && [ -f "$STUB" ] || { echo "SKIP: boot payloads missing (tools/fetch-payloads)"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BOOTSEAL" -q keys generate --dir keys
head -c 3000000 /dev/urandom > initrd.img
export SOURCE_DATE_EPOCH=1750000000
common=(--linux "$KERNEL" --initrd initrd.img --cmdline "composefs=0123abcd rw quiet" --os-release "ID=test
VERSION_ID=1" --uname 6.12.0-test --stub "$STUB")
"$BOOTSEAL" -q uki build "${common[@]}" --sign-key keys/db.key --sign-cert keys/db.crt --output signed.efi
"$BOOTSEAL" -q uki build "${common[@]}" --output unsigned.efi
sbverify --cert keys/db.crt signed.efi >/dev/null || fail "sbverify rejects the signed UKI"
"$BOOTSEAL" -q verify --cert keys/db.crt signed.efi || fail "bootseal verify rejects the signed UKI"
objdump -h signed.efi | grep -q '\.cmdline' || fail "objdump does not see .cmdline"
sbsign --key keys/db.key --cert keys/db.crt --output ref.efi unsigned.efi 2>/dev/null
# sbsign's signingTime is its clock: sign again with ours set to it.
epoch=$(python3 - ref.efi <<'PY'
import struct, sys, datetime
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
sig = d[va:va + sz]
i = sig.rindex(bytes.fromhex('06092a864886f70d010905'))
t = sig[i + 15:i + 28].decode()
print(int(datetime.datetime.strptime(t, '%y%m%d%H%M%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()))
PY
)
SOURCE_DATE_EPOCH=$epoch "$BOOTSEAL" -q uki build "${common[@]}" --sign-key keys/db.key --sign-cert keys/db.crt --output ours.efi
cmp ours.efi ref.efi || fail "uki build --sign-key differs from sbsign on the same UKI"
# One byte of the composefs digest in .cmdline.
python3 - signed.efi tampered.efi <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'composefs=0123abcd')
d[i + len('composefs=0123abc')] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
if sbverify --cert keys/db.crt tampered.efi >/dev/null 2>&1; then fail "sbverify accepts a tampered .cmdline"; fi
set +e; "$BOOTSEAL" verify --cert keys/db.crt tampered.efi 2>err.txt; rc=$?; set -e
[ $rc = 1 ] && grep -q "hash mismatch" err.txt || fail "bootseal verify on tampered UKI: rc=$rc $(cat err.txt)"
echo PASS
