#!/bin/bash
# bootseal uki build/addon vs ukify 257 from the same inputs: same sections in
# the same layout (objdump -h), byte-identical files when the checksum is left
# 0 as ukify leaves it, and a valid PE checksum otherwise.
set -euo pipefail
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
ASTUB=$P/sdboot/usr/lib/systemd/boot/efi/addonx64.efi.stub
UKIFY=$P/ukify/usr/bin/ukify
KERNEL=$P/kernel/vmlinuz
for f in "$STUB" "$ASTUB" "$UKIFY" "$KERNEL" "$P/systemd/bin/systemd-measure"; do
  [ -e "$f" ] || { echo "SKIP: $f missing (run tools/fetch-payloads)"; exit 77; }
done
/usr/bin/python3 -c 'import pefile' || { echo "FAIL: python3-pefile missing"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
export PATH=$P/systemd/bin:$PATH   # ukify finds systemd-measure here

head -c 300000 /dev/urandom > initrd1
head -c 12345 /dev/urandom > initrd2
head -c 777 /dev/urandom > dtb
printf 'ID=sealed\nNAME="Sealed OS"\nVERSION_ID=1\n' > osrel
DIGEST=$(printf '%0128d' 42)
CMDLINE="console=ttyS0   composefs=$DIGEST  panic=-1"
openssl genrsa -out pcr.key 2048 2>/dev/null
openssl rsa -in pcr.key -pubout -out pcr.pub 2>/dev/null

ukify() { /usr/bin/python3 "$UKIFY" "$@" 2>ukify.log || { cat ukify.log; exit 1; }; }
check_same() {  # $1 ref, $2 ours
  objdump -h "$1" | tail -n +3 > ref.h
  objdump -h "$2" | tail -n +3 > our.h
  diff -u ref.h our.h || { echo "FAIL: objdump -h differs for $2"; exit 1; }
  cmp "$1" "$2" || { echo "FAIL: $2 is not byte-identical to ukify's"; exit 1; }
  echo "ok: $2 identical to ukify's"
}

# 1. kernel + two initrds + cmdline + os-release + devicetree, uname autodetected
ukify build --linux="$KERNEL" --initrd=initrd1 --initrd=initrd2 --cmdline="$CMDLINE" --os-release=@osrel \
  --devicetree=dtb --stub="$STUB" --output=ref1.efi
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd1 --initrd initrd2 --cmdline "$CMDLINE" --os-release @osrel \
  --devicetree dtb --stub "$STUB" --no-checksum --output our1.efi
check_same ref1.efi our1.efi

# 2. with a signed PCR policy (.pcrpkey, .pcrsig) and phase groups
ukify build --linux="$KERNEL" --initrd=initrd1 --cmdline=@osrel --os-release=@osrel --stub="$STUB" \
  --pcr-private-key=pcr.key --pcr-public-key=pcr.pub --phases="enter-initrd enter-initrd:leave-initrd:sysinit:ready" \
  --pcr-banks=sha256,sha512 --output=ref2.efi
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd1 --cmdline @osrel --os-release @osrel --stub "$STUB" \
  --pcr-private-key pcr.key --pcr-public-key pcr.pub --phases "enter-initrd enter-initrd:leave-initrd:sysinit:ready" \
  --pcr-banks sha256,sha512 --no-checksum --output our2.efi
check_same ref2.efi our2.efi

# 3. explicit --uname and --sbat, default stub from the payloads (BOOTSEAL_STUB)
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nsealed,1,Sealed,sealed,1,https://example.org/\n' > sbat.csv
ukify build --linux="$KERNEL" --cmdline="quiet" --os-release=@osrel --uname=6.1.0-test --sbat=@sbat.csv \
  --stub="$STUB" --output=ref3.efi
BOOTSEAL_STUB=$STUB "$BOOTSEAL" uki build --linux "$KERNEL" --cmdline quiet --os-release @osrel --uname 6.1.0-test \
  --sbat @sbat.csv --no-checksum --output our3.efi
check_same ref3.efi our3.efi

# 4. addon
ukify build --cmdline="debug  foo=bar" --stub="$ASTUB" --output=refa.efi
"$BOOTSEAL" uki addon --cmdline "debug  foo=bar" --stub "$ASTUB" --no-checksum --output oura.efi
check_same refa.efi oura.efi

# 4b. extra sections (--section), identical to ukify's
ukify build --linux="$KERNEL" --cmdline=quiet --os-release=@osrel --stub="$STUB" --section=.extra:hello \
  --section=.more:@osrel --output=refx.efi
"$BOOTSEAL" uki build --linux "$KERNEL" --cmdline quiet --os-release @osrel --stub "$STUB" --section .extra:hello \
  --section .more:@osrel --no-checksum --output ourx.efi
check_same refx.efi ourx.efi

# 4c. More sections than the stub's header space holds: ukify gives up, we grow
#     SizeOfHeaders by a FileAlignment unit and move the raw data down.
G=(--initrd initrd1 --cmdline quiet --os-release @osrel --devicetree dtb --splash dtb --pcr-private-key pcr.key
   --pcr-public-key pcr.pub --section .e1:a --section .e2:b --section .e3:c)
if /usr/bin/python3 "$UKIFY" build --linux="$KERNEL" --stub="$STUB" "${G[@]}" --output=refg.efi 2>ukify.log; then
  echo "note: ukify unexpectedly fitted all section headers"
else
  grep -q "Not enough header space" ukify.log || { cat ukify.log; echo "FAIL: ukify failed differently"; exit 1; }
fi
"$BOOTSEAL" uki build --linux "$KERNEL" --stub "$STUB" "${G[@]}" --output ourg.efi
objdump -h ourg.efi > /dev/null
/usr/bin/python3 - ourg.efi "$KERNEL" "$STUB" <<'PY'
import sys, pefile
pe = pefile.PE(sys.argv[1])
w = [x for x in pe.get_warnings() if 'VirtualSize is extremely large' not in x and 'VirtualAddress is beyond' not in x]
assert not w, w
assert pe.OPTIONAL_HEADER.SizeOfHeaders == 0x600, hex(pe.OPTIONAL_HEADER.SizeOfHeaders)
assert pe.verify_checksum()
sec = {s.Name.rstrip(b'\0').decode(): s for s in pe.sections}
assert len(pe.sections) == 18, len(pe.sections)
assert sec['.linux'].get_data()[:sec['.linux'].Misc_VirtualSize] == open(sys.argv[2], 'rb').read()
stub = pefile.PE(sys.argv[3])
for s in stub.sections:  # the stub's sections moved in the file but not in memory
    n = s.Name.rstrip(b'\0').decode()
    assert sec[n].VirtualAddress == s.VirtualAddress
    if n != '.sbat':
        assert sec[n].get_data() == s.get_data(), n
print('ok: headers grown to 0x600, 18 sections, stub sections intact')
PY

# 5. Default: the PE checksum is set and correct (pefile agrees), and the file
#    differs from ukify's only in the 4 CheckSum bytes.
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd1 --initrd initrd2 --cmdline "$CMDLINE" --os-release @osrel \
  --devicetree dtb --stub "$STUB" --output our1c.efi
/usr/bin/python3 - our1c.efi ref1.efi <<'PY'
import sys, pefile
pe = pefile.PE(sys.argv[1], fast_load=True)
assert pe.OPTIONAL_HEADER.CheckSum != 0, "checksum not set"
assert pe.verify_checksum(), "pefile says the checksum is wrong"
a = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read()
off = pe.OPTIONAL_HEADER.get_file_offset() + 64
assert len(a) == len(b)
assert a[:off] == b[:off] and a[off + 4:] == b[off + 4:], "differs outside the CheckSum field"
print("ok: checksum %#x valid, only the CheckSum field differs from ukify's" % pe.OPTIONAL_HEADER.CheckSum)
PY

# 6. inspect reads back what went in
"$BOOTSEAL" --json uki inspect our1c.efi > inspect.json
/usr/bin/python3 - "$DIGEST" "$P/kernel/kver" <<'PY'
import json, sys
j = json.load(open('inspect.json'))
assert j['kind'] == 'uki', j['kind']
assert j['composefs_digest'] == sys.argv[1], j['composefs_digest']
assert j['cmdline'] == 'console=ttyS0 composefs=%s panic=-1' % sys.argv[1], j['cmdline']
assert j['os_release']['NAME'] == 'Sealed OS'
assert j['uname'] == open(sys.argv[2]).read().strip(), j['uname']
assert j['checksum_valid'] is True and j['signed'] is False
names = [s['name'] for s in j['sections']]
assert names[-6:] == ['.osrel', '.cmdline', '.dtb', '.uname', '.linux', '.initrd'], names
import hashlib
init = open('initrd1', 'rb').read(); init += b'\0' * (-len(init) % 4); i2 = open('initrd2', 'rb').read(); init += i2 + b'\0' * (-len(i2) % 4)
sec = {s['name']: s for s in j['sections']}
assert sec['.initrd']['sha256'] == hashlib.sha256(init).hexdigest(), "initrds not concatenated with 4-byte padding"
print('ok: inspect')
PY

# 6b. inspect checks the .pcrsig against the UKI's own sections, and notices
#     when a section changed after signing.
"$BOOTSEAL" --json uki inspect our2.efi > i2.json
/usr/bin/python3 - our2.efi <<'PY'
import json, sys, pefile
j = json.load(open('i2.json'))
e = j['pcrsig']
assert len(e) == 4 and {x['bank'] for x in e} == {'sha256', 'sha512'}, e
assert all(x['phase'] in ('enter-initrd', 'enter-initrd:leave-initrd:sysinit:ready') for x in e), e
assert all(x['key_matches_pcrpkey'] and x['signature_valid'] for x in e), e
pe = pefile.PE(sys.argv[1], fast_load=True)
data = bytearray(open(sys.argv[1], 'rb').read())
s = [s for s in pe.sections if s.Name.rstrip(b'\0') == b'.cmdline'][0]
data[s.PointerToRawData] ^= 1
open('tampered.efi', 'wb').write(data)
PY
"$BOOTSEAL" --json uki inspect tampered.efi > it.json
/usr/bin/python3 -c '
import json; e = json.load(open("it.json"))["pcrsig"]
assert all(x["phase"] is None for x in e), e
assert all(x["signature_valid"] for x in e), e'
"$BOOTSEAL" uki inspect tampered.efi | grep -q "STALE" || { echo "FAIL: stale .pcrsig not reported"; exit 1; }
echo "ok: inspect checks .pcrsig"

# 6c. The parser accepts every real EFI binary we have, and agrees with objdump
#     on the section table.
for f in "$STUB" "$ASTUB" "$P/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$KERNEL" ref2.efi; do
  "$BOOTSEAL" --json uki inspect "$f" > real.json || { echo "FAIL: inspect $f"; exit 1; }
  /usr/bin/python3 - real.json <(objdump -h "$f") <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
rows = [l.split() for l in open(sys.argv[2]) if l[:1] == ' ' and l.split()[0].isdigit()]
# objdump shows min(VirtualSize, SizeOfRawData) (the kernel's .data has a bss tail)
ours = [(s['name'], min(s['size'], s['raw_size']) if s['raw_size'] else s['size'], s['file_offset']) for s in j['sections']]
theirs = [(r[1], int(r[2], 16), int(r[5], 16)) for r in rows]
assert ours == theirs, (ours, theirs)
PY
done
echo "ok: inspect agrees with objdump on stubs, systemd-boot, the kernel and ukify's UKI"

# 6d. inspect reports Authenticode signatures and whether the image hash still matches
openssl req -x509 -newkey rsa:2048 -nodes -keyout db.key -out db.crt -subj /CN=uki-test-db -days 30 \
  -addext extendedKeyUsage=codeSigning 2>/dev/null
"$BOOTSEAL" uki build --linux "$KERNEL" --cmdline "$CMDLINE" --os-release @osrel --stub "$STUB" \
  --sign-key db.key --sign-cert db.crt --output signed.efi
sbverify --cert db.crt signed.efi > /dev/null
"$BOOTSEAL" --json uki inspect signed.efi > is.json
/usr/bin/python3 - <<'PY'
import json, pefile
j = json.load(open('is.json'))
assert j['signed'] and j['checksum_valid'], j
assert [(s['signer'], s['image_hash_ok']) for s in j['signatures']] == [('CN=uki-test-db', True)], j['signatures']
pe = pefile.PE('signed.efi', fast_load=True)
data = bytearray(open('signed.efi', 'rb').read())
s = [s for s in pe.sections if s.Name.rstrip(b'\0') == b'.cmdline'][0]
data[s.PointerToRawData] ^= 1
open('signed-tampered.efi', 'wb').write(data)
PY
"$BOOTSEAL" --json uki inspect signed-tampered.efi > ist.json
/usr/bin/python3 -c 'import json; s = json.load(open("ist.json"))["signatures"]; assert s and not s[0]["image_hash_ok"], s'
echo "ok: inspect reports the signer and a broken image hash"

# 7. Bad input: clear one-line errors, no output file
set +e
"$BOOTSEAL" uki build --linux "$KERNEL" --stub /nonexistent.stub --output bad.efi 2>err.txt; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "stub /nonexistent.stub does not exist" err.txt && [ ! -e bad.efi ] || { cat err.txt; echo "FAIL: missing stub"; exit 1; }
head -c 4096 /dev/urandom > notpe.efi
set +e
"$BOOTSEAL" uki build --linux "$KERNEL" --stub notpe.efi --output bad.efi 2>err.txt; rc=$?
"$BOOTSEAL" uki inspect notpe.efi 2>err2.txt; rc2=$?
set -e
[ $rc -ne 0 ] && grep -q "not a PE image" err.txt && [ ! -e bad.efi ] || { cat err.txt; echo "FAIL: stub not a PE"; exit 1; }
[ $rc2 -ne 0 ] && grep -q "notpe.efi: not a PE image" err2.txt || { cat err2.txt; echo "FAIL: inspect not a PE"; exit 1; }
echo "ok: bad input"
echo PASS
