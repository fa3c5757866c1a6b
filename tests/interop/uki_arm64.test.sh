#!/bin/bash
# arm64 (AA64 PE32+) UKIs: `bootseal uki build` on linuxaa64.efi.stub (picked by
# the kernel's PE Machine) is byte-identical to ukify 257 for the same inputs,
# also from a gzip Image.gz; Authenticode on AA64: sbverify accepts our signed
# UKI and systemd-bootaa64.efi; on Debian's signed arm64 kernel our image hash is
# the one inside Debian's signature (checked by a hand-written hash, the
# algorithm of shared/notes/aarch64/authenticode-hash.py, inlined below) and a
# one-byte change is a mismatch; PCR 11 prediction equals systemd-measure's;
# an x86-64 kernel on the arm64 stub (and the reverse) is refused in one line.
. "$(dirname "$0")/../lib.sh"
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
A=$P/arm64
STUB=$A/sdboot/usr/lib/systemd/boot/efi/linuxaa64.efi.stub
ASTUB=$A/sdboot/usr/lib/systemd/boot/efi/addonaa64.efi.stub
SDBOOT=$A/sdboot/usr/lib/systemd/boot/efi/systemd-bootaa64.efi
KERNEL=$A/kernel/vmlinuz
XKERNEL=$P/kernel/vmlinuz
XSTUB=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
UKIFY=$P/ukify/usr/bin/ukify
M=$P/systemd/bin/systemd-measure
for f in "$STUB" "$ASTUB" "$SDBOOT" "$KERNEL" "$XKERNEL" "$XSTUB" "$UKIFY" "$M"; do
  [ -e "$f" ] || { echo "SKIP: $f missing (run tools/fetch-payloads)"; exit 77; }
done
need sbsign sbverify gzip
/usr/bin/python3 -c 'import pefile' || { echo "FAIL: python3-pefile missing"; exit 1; }
cd "$TMP"
export PATH=$P/systemd/bin:$PATH

head -c 200000 /dev/urandom > initrd
printf 'ID=sealed\nVERSION_ID=1\n' > osrel
CMDLINE="console=ttyAMA0 composefs=$(printf '%0128d' 7) panic=-1"

# 1. byte-identical to ukify 257 (--no-checksum), stub given and stub found by Machine
/usr/bin/python3 "$UKIFY" build --linux="$KERNEL" --initrd=initrd --cmdline="$CMDLINE" --os-release=@osrel \
  --stub="$STUB" --output=ref.efi 2>ukify.log || { cat ukify.log; exit 1; }
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel --stub "$STUB" \
  --no-checksum --output our.efi
cmp ref.efi our.efi && pass || fail "arm64 UKI differs from ukify's"
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel \
  --no-checksum --output auto.efi
cmp ref.efi auto.efi && pass || fail "uki build did not pick linuxaa64.efi.stub by the kernel's Machine"
check_eq "UKI Machine" "0xaa64" "$(/usr/bin/python3 -c 'import pefile,sys; print(hex(pefile.PE(sys.argv[1],fast_load=True).FILE_HEADER.Machine))' our.efi)"
check_eq "uname from the arm64 Image" "$(cat "$A/kernel/kver")" \
  "$("$BOOTSEAL" --json uki inspect our.efi | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["uname"])')"

# 2. Image.gz is decompressed first (as ukify 257 does): the same UKI
gzip -n -1 -c "$KERNEL" > Image.gz
"$BOOTSEAL" uki build --linux Image.gz --initrd initrd --cmdline "$CMDLINE" --os-release @osrel --no-checksum \
  --output gz.efi
cmp ref.efi gz.efi && pass || fail "the UKI from Image.gz differs"
/usr/bin/python3 "$UKIFY" build --linux=Image.gz --initrd=initrd --cmdline="$CMDLINE" --os-release=@osrel \
  --stub="$STUB" --output=refgz.efi 2>ukify.log || { cat ukify.log; exit 1; }
cmp refgz.efi gz.efi && pass || fail "the UKI from Image.gz differs from ukify's"

# 3. addon on the arm64 addon stub
/usr/bin/python3 "$UKIFY" build --cmdline="debug" --stub="$ASTUB" --output=refa.efi 2>ukify.log || { cat ukify.log; exit 1; }
"$BOOTSEAL" uki addon --arch arm64 --cmdline debug --no-checksum --output oura.efi
cmp refa.efi oura.efi && pass || fail "arm64 addon differs from ukify's"

# 4. signing: sbverify accepts the signed arm64 UKI and systemd-bootaa64.efi
"$BOOTSEAL" -q keys generate --dir keys
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel \
  --sign-key keys/db.key --sign-cert keys/db.crt --output signed.efi
sbverify --cert keys/db.crt signed.efi >/dev/null 2>&1 && pass || fail "sbverify rejects our signed arm64 UKI"
"$BOOTSEAL" -q verify --cert keys/db.crt signed.efi && pass || fail "bootseal verify rejects the signed arm64 UKI"
"$BOOTSEAL" sign --key keys/db.key --cert keys/db.crt -o sdboot.efi "$SDBOOT"
sbverify --cert keys/db.crt sdboot.efi >/dev/null 2>&1 && pass || fail "sbverify rejects our signed systemd-bootaa64.efi"
cp signed.efi tampered.efi
off=$(/usr/bin/python3 -c 'import pefile,sys
p=pefile.PE(sys.argv[1],fast_load=True)
print([s.PointerToRawData for s in p.sections if s.Name.rstrip(b"\0")==b".cmdline"][0])' tampered.efi)
printf 'X' | dd of=tampered.efi bs=1 seek="$off" conv=notrunc status=none
sbverify --cert keys/db.crt tampered.efi >/dev/null 2>&1 && fail "sbverify accepts a tampered UKI" || pass
expect_error "tampered arm64 UKI" "hash" "$BOOTSEAL" verify --cert keys/db.crt tampered.efi

# 5. Debian's own signature on its arm64 kernel: our image hash = the signed one
hand_hash() { /usr/bin/python3 - "$1" <<'PY'
import hashlib, struct, sys
b = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', b, 0x3c)[0]
nsec, opt_size = struct.unpack_from('<H', b, pe + 6)[0], struct.unpack_from('<H', b, pe + 20)[0]
opt = pe + 24
csum, dd = opt + 64, opt + 112
cert_dir = dd + 32
cert_off, _ = struct.unpack_from('<II', b, cert_dir)
soh = struct.unpack_from('<I', b, opt + 60)[0]
h = hashlib.sha256(b[:csum] + b[csum + 4:cert_dir] + b[cert_dir + 8:soh])
secs = sorted((struct.unpack_from('<II', b, opt + opt_size + 40 * i + 16)[::-1]) for i in range(nsec))
end = soh
for ptr, size in secs:
    if size: h.update(b[ptr:ptr + size]); end = max(end, ptr + size)
if (cert_off or len(b)) > end: h.update(b[end:cert_off or len(b)])
print(h.hexdigest())
PY
}
signed_digest() { /usr/bin/python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', b, 0x3c)[0]
off, size = struct.unpack_from('<II', b, pe + 24 + 112 + 32)
sig = b[off:off + size]
# SpcIndirectDataContent's DigestInfo: sha256 AlgorithmIdentifier, NULL, OCTET STRING (32)
needle = bytes.fromhex('0609608648016503040201050004 20'.replace(' ', ''))
i = sig.index(needle)
print(sig[i + len(needle):i + len(needle) + 32].hex())
PY
}
want=$(signed_digest "$KERNEL")
check_eq "hand-computed hash = the digest in Debian's signature" "$want" "$(hand_hash "$KERNEL")"
"$BOOTSEAL" --json uki inspect "$KERNEL" > k.json
/usr/bin/python3 - k.json <<'PY' && pass || fail "inspect of Debian's arm64 kernel: $(cat k.json | head -c 600)"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["signatures"]
assert j["signed"] and len(s) == 1, s
assert "Debian Secure Boot Signer" in s[0]["signer"], s
assert s[0]["image_hash_ok"] is True, s
PY
cp "$KERNEL" k1.efi
printf '\x01' | dd of=k1.efi bs=1 seek=$((0x20000)) conv=notrunc status=none
"$BOOTSEAL" --json uki inspect k1.efi > k1.json
/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["signatures"]; assert s[0]["image_hash_ok"] is False, s' k1.json \
  && pass || fail "a one-byte change to Debian's kernel is not a hash mismatch"
openssl req -x509 -newkey rsa:2048 -nodes -keyout o.key -out o.crt -subj /CN=other -days 1 2>/dev/null
expect_error "modified Debian kernel" "hash" "$BOOTSEAL" verify --cert o.crt k1.efi

# 6. PCR 11 on the AA64 UKI equals systemd-measure on its sections
/usr/bin/python3 - <<'PY'
import pefile
pe = pefile.PE('our.efi', fast_load=True)
for s in pe.sections:
    n = s.Name.rstrip(b'\0').decode()
    if n in ('.sbat', '.uname', '.cmdline'):
        open('sec' + n, 'wb').write(s.get_data()[:s.Misc_VirtualSize])
PY
"$M" calculate --linux="$KERNEL" --osrel=osrel --cmdline=sec.cmdline --initrd=initrd --uname=sec.uname \
  --sbat=sec.sbat --phase=enter-initrd 2>/dev/null > ref.pcr
"$BOOTSEAL" pcr predict our.efi --phase enter-initrd | grep -v '^#' > our.pcr
diff -u ref.pcr our.pcr >/dev/null && pass || fail "pcr predict on the arm64 UKI differs: $(diff ref.pcr our.pcr)"

# 7. bad input: one line naming the mismatch
expect_error "x86-64 kernel on the arm64 stub" "the kernel is x86-64 \(PE Machine 0x8664\) but the stub is arm64" \
  "$BOOTSEAL" uki build --linux "$XKERNEL" --stub "$STUB" --output bad.efi
expect_error "arm64 kernel on the x86-64 stub" "the kernel is arm64 \(PE Machine 0xaa64\) but the stub is x86-64" \
  "$BOOTSEAL" uki build --linux "$KERNEL" --stub "$XSTUB" --output bad.efi
expect_error "--arch against the kernel" "the kernel is arm64 but --arch is x86-64" \
  "$BOOTSEAL" uki build --linux "$KERNEL" --arch x86-64 --output bad.efi
head -c 4096 /dev/urandom | gzip -c > junk.gz
expect_error "gzip that is not a kernel" "not a PE image \(it is gzip|not a PE image" \
  "$BOOTSEAL" uki build --linux junk.gz --arch arm64 --output bad.efi
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "error is not one line: $(cat "$TMP/err")"
[ ! -e bad.efi ] && pass || fail "a refused build left bad.efi"

# 8. initrds: busybox and setup-root must be built for the target
XSR=$BUILD/src/initramfs/bootseal-setup-root
if [ -x "$XSR" ]; then
  expect_error "x86-64 setup-root in an arm64 initrd" "setup-root .* is an x86-64 executable but the target is arm64" \
    "$BOOTSEAL" initrd build --arch arm64 --no-modules --setup-root "$XSR" -o bad.cpio
fi
expect_error "arm64 busybox in an x86-64 initrd" "busybox .* is an arm64 executable but the target is x86-64" \
  "$BOOTSEAL" initrd build --arch x86-64 --no-modules --busybox "$A/busybox/bin/busybox" -o bad.cpio
"$BOOTSEAL" -q initrd build --arch arm64 --kernel-modules-from "$A/kernel" -o a64.cpio && pass || fail "arm64 initrd build"
"$BOOTSEAL" initrd list a64.cpio | grep -q 'erofs.ko$' && pass || fail "arm64 initrd lacks erofs.ko (decompressed)"
finish
