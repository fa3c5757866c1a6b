#!/bin/bash
# bootseal pcr predict|sign vs systemd-measure (254) calculate|sign on the same
# inputs: every bank, every phase path, byte-exact signed policy JSON.
set -euo pipefail
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
M=$P/systemd/bin/systemd-measure
KERNEL=$P/kernel/vmlinuz
STUB=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
for f in "$M" "$KERNEL" "$STUB"; do
  [ -e "$f" ] || { echo "SKIP: $f missing (run tools/fetch-payloads)"; exit 77; }
done
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"

head -c 200000 /dev/urandom > initrd
head -c 999 /dev/urandom > splash
head -c 333 /dev/urandom > dtb
printf 'ID=sealed\nVERSION_ID=2\n' > osrel
printf 'console=ttyS0 composefs=%064d' 5 > cmdline
printf '6.12.95+deb12-amd64' > uname
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nuki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n\0' > sbat
openssl genrsa -out k.pem 2048 2>/dev/null
openssl rsa -in k.pem -pubout -out pub.pem 2>/dev/null
cp pub.pem pcrpkey

SECS=(--linux="$KERNEL" --osrel=osrel --cmdline=cmdline --initrd=initrd --splash=splash --dtb=dtb --uname=uname
      --sbat=sbat --pcrpkey=pcrpkey)
PHASES=(--phase=enter-initrd --phase=enter-initrd:leave-initrd --phase=enter-initrd:leave-initrd:sysinit
        --phase=enter-initrd:leave-initrd:sysinit:ready --phase=enter-initrd:leave-initrd:sysinit:ready:shutdown
        --phase=enter-initrd:leave-initrd:sysinit:ready:shutdown:final --phase=ready --phase=enter-initrd::final)

# 1. calculate: all banks, all phases, text output
"$M" calculate "${SECS[@]}" "${PHASES[@]}" 2>/dev/null > ref.txt
"$BOOTSEAL" pcr predict "${SECS[@]}" "${PHASES[@]}" | grep -v '^#' > our.txt
[ "$(wc -l < ref.txt)" -eq 32 ] || { cat ref.txt; echo "FAIL: expected 8 phases x 4 banks"; exit 1; }
diff -u ref.txt our.txt || { echo "FAIL: pcr predict differs from systemd-measure calculate"; exit 1; }
echo "ok: predict == calculate (4 banks x 8 phase paths)"

# 2. JSON, subsets of sections, one bank at a time
for bank in sha1 sha256 sha384 sha512; do
  "$M" calculate --linux="$KERNEL" --osrel=osrel --cmdline=cmdline --bank=$bank --json=short 2>/dev/null > ref.json
  "$BOOTSEAL" --json pcr predict --linux="$KERNEL" --osrel=osrel --cmdline=cmdline --bank=$bank \
    --phase=enter-initrd --phase=enter-initrd:leave-initrd --phase=enter-initrd:leave-initrd:sysinit \
    --phase=enter-initrd:leave-initrd:sysinit:ready > our.json
  /usr/bin/python3 -c 'import json,sys; a=json.load(open("ref.json")); b=json.load(open("our.json")); assert a==b, (a,b)'
done
echo "ok: predict --json == calculate --json for each bank"

# 3. sign: byte-exact JSON (RSA PKCS#1 v1.5 is deterministic)
"$M" sign "${SECS[@]}" --private-key=k.pem --public-key=pub.pem 2>/dev/null > ref.sig
"$BOOTSEAL" pcr sign "${SECS[@]}" --private-key k.pem --public-key pub.pem > our.sig
cmp ref.sig our.sig || { echo "FAIL: pcr sign differs from systemd-measure sign"; exit 1; }
"$M" sign --linux="$KERNEL" --initrd=initrd --private-key=k.pem --bank=sha384 --bank=sha1 \
  --phase=ready --phase=enter-initrd:leave-initrd --phase=enter-initrd:leave-initrd 2>/dev/null > ref2.sig
"$BOOTSEAL" pcr sign --linux="$KERNEL" --initrd=initrd --private-key k.pem --bank sha384 --bank sha1 \
  --phase ready --phase enter-initrd:leave-initrd --phase enter-initrd:leave-initrd -o our2.sig
cmp ref2.sig our2.sig || { echo "FAIL: pcr sign (banks, phases) differs"; exit 1; }
echo "ok: pcr sign == systemd-measure sign (byte-exact)"

# 4. predict from a UKI equals systemd-measure on the sections that went in
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline @cmdline --os-release @osrel --uname "$(cat uname)" \
  --splash splash --devicetree dtb --stub "$STUB" --pcr-private-key k.pem --pcr-public-key pub.pem --output uki.efi
# The .sbat systemd-stub measures is the merged one in the UKI: take it from there.
/usr/bin/python3 - <<'PY'
import pefile
pe = pefile.PE('uki.efi', fast_load=True)
for s in pe.sections:
    n = s.Name.rstrip(b'\0').decode()
    if n == '.sbat':
        open('uki-sbat', 'wb').write(s.get_data()[:s.Misc_VirtualSize])
PY
"$M" calculate --linux="$KERNEL" --osrel=osrel --cmdline=cmdline --initrd=initrd --splash=splash --dtb=dtb \
  --uname=uname --sbat=uki-sbat --pcrpkey=pub.pem "${PHASES[@]}" 2>/dev/null > ref3.txt
"$BOOTSEAL" pcr predict uki.efi "${PHASES[@]}" | grep -v '^#' > our3.txt
diff -u ref3.txt our3.txt || { echo "FAIL: pcr predict on the UKI differs"; exit 1; }
# The .pcrsig in the UKI is systemd-measure's signature over the same sections.
"$M" sign --linux="$KERNEL" --osrel=osrel --cmdline=cmdline --initrd=initrd --splash=splash --dtb=dtb \
  --uname=uname --sbat=uki-sbat --pcrpkey=pub.pem --private-key=k.pem --public-key=pub.pem 2>/dev/null > ref3.sig
/usr/bin/python3 - <<'PY'
import json, pefile
pe = pefile.PE('uki.efi', fast_load=True)
sec = {s.Name.rstrip(b'\0').decode(): s for s in pe.sections}
got = json.loads(sec['.pcrsig'].get_data()[:sec['.pcrsig'].Misc_VirtualSize])
want = json.load(open('ref3.sig'))
assert got == want, "the UKI's .pcrsig differs from systemd-measure sign"
assert sec['.pcrpkey'].get_data()[:sec['.pcrpkey'].Misc_VirtualSize] == open('pub.pem', 'rb').read()
PY
echo "ok: UKI predict and .pcrsig match systemd-measure"

# 5. Bad input
set +e
"$BOOTSEAL" pcr predict --linux="$KERNEL" --phase=enter-initrd:bogus 2>err.txt; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "unknown boot phase 'bogus'" err.txt || { cat err.txt; echo "FAIL: bad phase"; exit 1; }
openssl genrsa -out other.pem 2048 2>/dev/null
openssl rsa -in other.pem -pubout -out other.pub 2>/dev/null
set +e
"$BOOTSEAL" pcr sign --linux="$KERNEL" --private-key k.pem --public-key other.pub > /dev/null 2>err.txt; rc=$?
"$BOOTSEAL" pcr predict "$STUB" > /dev/null 2>err2.txt; rc2=$?
set -e
[ $rc -ne 0 ] && grep -q "does not belong to the private key" err.txt || { cat err.txt; echo "FAIL: key mismatch"; exit 1; }
[ $rc2 -ne 0 ] && grep -q "not a UKI" err2.txt || { cat err2.txt; echo "FAIL: stub as UKI"; exit 1; }
echo "ok: bad input"
echo PASS
