#!/usr/bin/env python3
"""Small PE edits for the verify tests (no signing; re-sign with bootseal sign):
  pe_edit.py flip-section FILE NAME OFFSET       flip one byte at OFFSET inside section NAME
  pe_edit.py rename-section FILE NAME NEWNAME    rename a section header (e.g. drop .sbat)
  pe_edit.py extract FILE NAME OUT               write a section's VirtualSize bytes to OUT
  pe_edit.py replace-section FILE NAME DATAFILE  overwrite a section's bytes (same length)
"""
import struct, sys

def sections(b):
    pe = struct.unpack_from('<I', b, 0x3c)[0]
    assert b[pe:pe + 4] == b'PE\0\0'
    nsec = struct.unpack_from('<H', b, pe + 6)[0]
    optsz = struct.unpack_from('<H', b, pe + 20)[0]
    tab = pe + 24 + optsz
    for i in range(nsec):
        off = tab + 40 * i
        name = b[off:off + 8].rstrip(b'\0').decode()
        vsize, va, rsize, roff = struct.unpack_from('<IIII', b, off + 8)
        yield name, off, vsize, rsize, roff

def find(b, name):
    for s in sections(b):
        if s[0] == name:
            return s
    sys.exit(f'no section {name}')

cmd, path = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
if cmd == 'flip-section':
    _, _, vs, rs, ro = find(b, sys.argv[3])
    b[ro + int(sys.argv[4])] ^= 0x01
elif cmd == 'rename-section':
    _, off, _, _, _ = find(b, sys.argv[3])
    b[off:off + 8] = sys.argv[4].encode().ljust(8, b'\0')
elif cmd == 'extract':
    _, _, vs, rs, ro = find(b, sys.argv[3])
    open(sys.argv[4], 'wb').write(b[ro:ro + min(vs, rs)])
    sys.exit(0)
elif cmd == 'replace-section':
    _, _, vs, rs, ro = find(b, sys.argv[3])
    data = open(sys.argv[4], 'rb').read()
    assert len(data) <= rs, 'replacement longer than the section'
    b[ro:ro + len(data)] = data
else:
    sys.exit(__doc__)
open(path, 'wb').write(b)
