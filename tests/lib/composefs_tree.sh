# make_composefs_tree DIR: a small tree with every file type composefs stores:
# inline-size and external files, empty files, hardlinks, symlinks (short and
# 3000 bytes), a fifo, a socket, xattrs (user, trusted.overlay.* to be escaped,
# security), long and odd names, a 300-entry directory (multi-block dirents).
# Devices and whiteouts need root (mknod) and are made only as root.
make_composefs_tree() {
  local T=$1
  mkdir -p "$T/a/b/c" "$T/empty" "$T/dev" "$T/bin"
  echo hi > "$T/small"
  head -c 64 /dev/urandom > "$T/s64"
  head -c 65 /dev/urandom > "$T/s65"
  head -c 4097 /dev/urandom > "$T/s4097"
  head -c 300000 /dev/urandom > "$T/a/big"
  ln "$T/a/big" "$T/a/big-link"
  : > "$T/zero"
  ln -s ../small "$T/a/b/sym"
  ln -s "$(head -c 3000 /dev/zero | tr '\0' x)" "$T/longsym"
  mkfifo "$T/fifo"
  python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$T/sock"
  printf '#!/bin/sh\necho tool\n' > "$T/bin/tool"; chmod 4755 "$T/bin/tool"
  for i in $(seq 1 300); do : > "$T/a/b/c/file with space $i"; done
  touch "$T/a/b/c/$(head -c 255 /dev/zero | tr '\0' n)"
  printf 'x' > "$T/a/b/c/tab	and=equals"
  if command -v setfattr > /dev/null; then
    setfattr -n user.foo -v bar "$T/small" 2> /dev/null || true
    setfattr -n user.big -v "$(head -c 2000 /dev/zero | tr '\0' y)" "$T/a/big" 2> /dev/null || true
    setfattr -n user.same -v shared "$T/a" 2> /dev/null || true
    setfattr -n user.same -v shared "$T/a/b" 2> /dev/null || true
  fi
  if [ "$(id -u)" = 0 ]; then
    setfattr -n trusted.overlay.opaque -v y "$T/a" 2> /dev/null || true
    setfattr -n security.test -v label "$T/a/b" 2> /dev/null || true
    mknod "$T/dev/null" c 1 3
    mknod "$T/dev/sda" b 8 0
    mknod "$T/dev/whiteout" c 0 0
    chown 1000:1000 "$T/s65"
    chown 70000:70000 "$T/s4097"
  fi
  touch -d @1000000000.123456789 "$T/a/b/c"
  touch -h -d @5 "$T/a/b/sym"
}

# normalize_dump: the differences between a scanned directory's dumpfile and
# the one read back from its image, all documented in docs/formats/composefs.md:
# directory sizes and link counts are recomputed by the writer, files of at
# most 64 bytes are stored inline (payload and digest are not kept), and the
# order of xattrs on a line is the image's, and (format 1) a directory holding
# whiteouts is marked opaque "x". Reads stdin, writes stdout.
normalize_dump() {
  python3 -c '
import sys
for line in sys.stdin:
    f = line.rstrip("\n").split(" ")
    mode = f[2].lstrip("@")
    if int(mode, 8) & 0o170000 == 0o040000:
        f[1] = "D"; f[3] = "N"
    if f[9] != "-":
        f[8] = "-"; f[10] = "-"
    x = [a for a in f[11:] if a not in ("trusted.overlay.opaque=x", "user.overlay.opaque=x")]
    print(" ".join(f[:11] + sorted(x)))
'
}
