#!/usr/bin/env python3
# uki_measure.py UKI: prints, one per line, the sha256 digests systemd-stub extends into
# PCR 11 for UKI's measured sections (H(".name\0") then H(contents, VirtualSize bytes)),
# in systemd 254's order. Used to put a swtpm into the state a genuine boot leaves.
# uki_measure.py UKI --extract DIR: writes each section's contents (VirtualSize bytes;
# .cmdline without trailing NULs) to DIR/<name without the dot>.
import hashlib, struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
nsec = struct.unpack_from('<H', d, pe + 6)[0]
opt = struct.unpack_from('<H', d, pe + 20)[0]
secs = {}
for i in range(nsec):
    s = pe + 24 + opt + 40 * i
    name = d[s:s + 8].rstrip(b'\0').decode()
    vsize, _, rawsize, ptr = struct.unpack_from('<IIII', d, s + 8)
    data = d[ptr:ptr + min(vsize, rawsize)]
    secs[name] = data + b'\0' * (vsize - len(data))
if len(sys.argv) > 3 and sys.argv[2] == '--extract':
    for n, v in secs.items():
        if n == '.cmdline': v = v.rstrip(b'\0')
        open(sys.argv[3] + '/' + n.lstrip('.'), 'wb').write(v)
    sys.exit(0)
for n in ['.linux', '.osrel', '.cmdline', '.initrd', '.splash', '.dtb', '.uname', '.sbat', '.pcrpkey']:
    if n in secs:
        print(hashlib.sha256(n.encode() + b'\0').hexdigest())
        print(hashlib.sha256(secs[n]).hexdigest())
