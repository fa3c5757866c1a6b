import random, sys
seed = int(sys.argv[1]); r = random.Random(seed)
def esc(b, eq=False):
    out = []
    for c in b:
        if c == 0x5c: out.append('\\\\')
        elif c == 0x0a: out.append('\\n')
        elif (eq and c == 0x3d) or c <= 0x20 or c >= 0x7f: out.append('\\x%02x' % c)
        else: out.append(chr(c))
    s = ''.join(out)
    return '\\x2d' if s == '-' else s
def rname():
    k = r.choice([1, 2, 3, 5, 8, 20, 60, 200, 255])
    alpha = b'abcdefghijklmnopqrstuvwxyz0123456789-_. =\\\x01\xff'
    while True:
        n = bytes(r.choice(alpha) for _ in range(k))
        if n not in (b'.', b'..') and b'/' not in n: return n
lines = []
paths = {}  # path -> type
files = []
def mt():
    if r.random() < 0.6: return '1700000000.0'
    return '%d.%d' % (r.choice([1700000000, 0, -5, 4102444800, 1700000001]), r.choice([0, 1, 999999999]))
def xattrs():
    xs = []
    pool = [b'user.a', b'user.shared', b'security.selinux', b'trusted.overlay.opaque', b'trusted.foo', b'lustre.x', b'system.posix_acl_access', b'user.' + b'k' * 100, b'btrfs.c']
    for _ in range(r.choice([0, 0, 1, 2, 5])):
        k = r.choice(pool)
        v = r.choice([b'', b'x', b'shared-value', bytes(r.randrange(256) for _ in range(r.choice([1, 10, 300])))])
        xs.append(esc(k, True) + '=' + esc(v, True))
    if r.random() < 0.05:
        for i in range(r.choice([130, 200])):
            xs.append('user.s%d=v' % i)
    return (' ' + ' '.join(xs)) if xs else ''
root_x = xattrs()
lines.append('/ 4096 40755 2 %d %d 0 %s - - -%s' % (r.choice([0, 70000]), 0, mt(), root_x))
dirs = [b'']
n = r.choice([5, 30, 100, 400])
for i in range(n):
    parent = r.choice(dirs)
    name = rname()
    p = parent + b'/' + name
    if p in paths: continue
    t = r.choice(['d', 'f', 'f', 'e', 'e', 'l', 'c', 'b', 'p', 's', 'w', 'h'])
    if t == 'h' and files:
        tgt = r.choice(files)
        lines.append('%s 0 @100644 1 0 0 0 0.0 %s - -' % (esc(p), esc(tgt)))
        paths[p] = 'h'; continue
    uid = r.choice([0, 0, 1000, 65535, 65536, 100000])
    nl = r.choice([1, 1, 2, 70000])
    if t == 'd':
        lines.append('%s 4096 40755 2 %d 0 0 %s - - -%s' % (esc(p), uid, mt(), xattrs())); dirs.append(p)
    elif t == 'f':
        sz = r.choice([1, 5, 100, 2048, 2049, 3000, 4095, 4096, 4097, 5000])
        c = bytes(r.randrange(256) for _ in range(sz))
        lines.append('%s %d 100644 %d %d 0 0 %s - %s -%s' % (esc(p), sz, nl, uid, mt(), esc(c), xattrs())); files.append(p)
    elif t == 'e':
        sz = r.choice([0, 1, 4096, 10**6, 2**40, 2**45])
        d = ''.join(r.choice('0123456789abcdef') for _ in range(64)) if r.random() < 0.8 else '-'
        pl = r.choice([d[:2] + '/' + d[2:] if d != '-' else 'x/y', '/abs/path', 'abc', '-'])
        lines.append('%s %d 100755 %d %d 0 0 %s %s - %s%s' % (esc(p), sz, nl, uid, mt(), pl, d, xattrs())); files.append(p)
    elif t == 'l':
        tl = r.choice([1, 10, 100, 1000, 2000, 3000, 4000, 4050, 4095])
        tgt = bytes(r.choice(b'abcxyz/.') for _ in range(tl))
        lines.append('%s %d 120777 1 %d 0 0 %s %s - -%s' % (esc(p), tl, uid, mt(), esc(tgt), xattrs()))
    elif t in 'cb':
        lines.append('%s 0 %s0644 1 0 0 %d %s - - -%s' % (esc(p), '2' if t == 'c' else '6', r.choice([1, 259, 2**32 - 1]), mt(), xattrs()))
    elif t == 'p':
        lines.append('%s 0 10644 1 0 0 0 %s - - -%s' % (esc(p), mt(), xattrs()))
    elif t == 's':
        lines.append('%s 0 140644 1 0 0 0 %s - - -' % (esc(p), mt()))
    elif t == 'w':
        lines.append('%s 0 20000 1 0 0 0 %s - - -%s' % (esc(p), mt(), xattrs()))
    paths[p] = t
sys.stdout.write('\n'.join(lines) + '\n')
