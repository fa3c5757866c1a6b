#!/bin/bash
# `composefs mkfs --digest-store` makes an object visible only once its data is
# on disk: every object is written anonymously (O_TMPFILE), and its linkat()
# into objects/ comes after a syncfs() that started after the object's last
# write. (A crash before that syncfs must not leave a visible object whose data
# never reached the disk.) Checked on the syscall trace of a real run with two
# threads, plus: every object's name is its fs-verity digest, and no temporary
# is left behind.
set -euo pipefail
: "${BOOTSEAL:?}" "${SRC:?}"
command -v strace > /dev/null || { echo "strace missing (apt install strace)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/src/a" "$T/src/b"
for i in $(seq 1 60); do head -c $((i * 3001)) /dev/urandom > "$T/src/a/f$i"; done
for i in $(seq 1 20); do head -c $((i * 70001)) /dev/urandom > "$T/src/b/g$i"; done
cp "$T/src/a/f7" "$T/src/b/dup"
# check [FD-LIMIT]: one traced run; a low descriptor limit makes many small
# batches (16 objects each) and makes the workers wait for the linker thread.
check() {
rm -rf "$T/store" "$T/img"
( [ -z "${1:-}" ] || ulimit -n "$1"
  strace -f -qq -e trace=openat,write,pwrite64,syncfs,linkat,renameat,rename,close -o "$T/trace" \
    "$BOOTSEAL" -q --threads 2 composefs mkfs --digest-store "$T/store" "$T/src" "$T/img" )
python3 - "$T/trace" "${1:-}" <<'PY'
import re, sys
# Per syscall: (start line, finish line). strace -f splits calls that other
# threads interrupt into "<unfinished ...>" and "<... resumed>" lines.
calls, open_calls = [], {}
for i, line in enumerate(open(sys.argv[1])):
    m = re.match(r'(\d+)\s+(.*)', line.rstrip('\n'))
    if not m: continue
    pid, rest = m.groups()
    r = re.match(r'<\.\.\. (\w+) resumed>(.*)', rest)
    if r:
        name, start, text = r.group(1), *open_calls.pop((pid, r.group(1)))
        calls.append((name, start, i, text + r.group(2)))
        continue
    c = re.match(r'(\w+)\((.*)', rest)
    if not c: continue
    if rest.endswith('<unfinished ...>'):
        open_calls[(pid, c.group(1))] = (i, rest)
    else:
        calls.append((c.group(1), i, i, rest))
calls.sort(key=lambda c: c[1])
tmp_fds, last_write, syncs, bad, linked = set(), {}, [], 0, 0
for name, start, end, text in calls:
    ret = re.search(r'= (-?\d+)', text)
    ret = int(ret.group(1)) if ret else None
    args = re.match(r'\w+\((\w+)', text)
    if name == 'openat' and 'O_TMPFILE' in text and ret is not None and ret >= 0:
        tmp_fds.add(ret); last_write[ret] = end
    elif name in ('write', 'pwrite64'):
        fd = int(re.match(r'\w+\((\d+)', text).group(1))
        if fd in tmp_fds: last_write[fd] = max(last_write[fd], end)
    elif name == 'close':
        tmp_fds.discard(int(re.match(r'close\((\d+)', text).group(1)))
    elif name == 'syncfs':
        syncs.append((start, end))
    elif name == 'linkat' and ret == 0:
        fd = int(re.search(r'/proc/self/fd/(\d+)', text).group(1))
        lw = last_write.get(fd)
        if lw is None: print('FAIL linkat of an unknown descriptor:', text.strip()); bad += 1; continue
        if not any(s > lw and e < start for s, e in syncs):
            print('FAIL object linked before a syncfs covered its data:', text.strip()[:120]); bad += 1
        linked += 1
    elif name in ('rename', 'renameat') and ret == 0 and '/store/' in text:
        print('FAIL a named temporary was used; this check expects O_TMPFILE'); bad += 1
print(f'{linked} objects linked, {len(syncs)} syncfs calls')
if linked != 80: print('FAIL expected 80 objects linked'); bad += 1
if sys.argv[2] and len(syncs) < 5: print('FAIL a low descriptor limit should give several batches'); bad += 1
sys.exit(1 if bad else 0)
PY
}
check
check 128
# The objects are right and nothing temporary is left.
n=0
while IFS= read -r f; do
  want=${f#"$T/store/"}; want=${want/\//}
  got=$(fsverity digest --compact "$f")
  [ "$got" = "$want" ] || { echo "FAIL $f has digest $got"; exit 1; }
  n=$((n + 1))
done < <(find "$T/store" -type f)
[ "$n" -eq 80 ] || { echo "FAIL $n objects in the store, expected 80"; exit 1; }
[ -z "$(find "$T/store" -name '.tmp*')" ] || { echo "FAIL temporary left in the store"; exit 1; }
echo "OK: $n objects, each linked after a syncfs covering its data"
