#!/bin/bash
# As root: the kernel mounts our composefs image (EROFS, loop) and an overlayfs
# with the object store as a data-only lower layer (lowerdir=<erofs>::<objects>,
# metacopy=on, redirect_dir=on) shows exactly the source tree: file bytes,
# modes, owners, mtimes, xattrs, symlink targets, devices and (with
# --hardlinks) link counts; also with SHA-512 objects (64-byte metacopy
# digests, redirects to xx/<126 hex>). fs-verity is not checked here (the host kernel's
# filesystem lacks it); the VM tests do verity=require.
set -euo pipefail
: "${BOOTSEAL:?}" "${SRC:?}"
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
grep -qw erofs /proc/filesystems || modprobe erofs 2> /dev/null || true
grep -qw erofs /proc/filesystems || { echo "kernel $(uname -r) has no erofs"; exit 77; }
grep -qw overlay /proc/filesystems || modprobe overlay 2> /dev/null || true
grep -qw overlay /proc/filesystems || { echo "kernel $(uname -r) has no overlayfs"; exit 77; }
source "$SRC/tests/lib/composefs_tree.sh"
T=$(mktemp -d)
cleanup() {
  umount "$T/ovl" 2> /dev/null || true
  umount "$T/erofs" 2> /dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
make_composefs_tree "$T/tree"
mkdir -p "$T/erofs" "$T/ovl"
fail=0

compare() {  # compare HARDLINKS(0|1)
  python3 - "$T/tree" "$T/ovl" "$1" << 'PY'
import os, stat, sys
src, mnt, hardlinks = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
bad = 0
def err(msg):
    global bad
    bad += 1
    if bad < 20: print("FAIL", msg)
def xattrs(p):
    out = {}
    for k in os.listxattr(p, follow_symlinks=False):
        if k.startswith(("trusted.overlay.", "user.overlay.")) or k == "security.selinux":
            continue
        out[k] = os.getxattr(p, k, follow_symlinks=False)
    return out
n = 0
for root, dirs, files in os.walk(src):
    for name in dirs + files:
        s = os.path.join(root, name)
        rel = os.path.relpath(s, src)
        m = os.path.join(mnt, rel)
        a = os.lstat(s)
        if rel == "dev/whiteout":
            # Stored as an escaped whiteout: overlayfs shows an empty entry
            # that a further overlay would treat as a whiteout.
            if not os.path.lexists(m): err("whiteout entry missing")
            continue
        try:
            b = os.lstat(m)
        except OSError as e:
            err(f"{rel}: {e}"); continue
        n += 1
        for f in ("st_mode", "st_uid", "st_gid"):
            if getattr(a, f) != getattr(b, f): err(f"{rel}: {f} {getattr(a, f):o} != {getattr(b, f):o}")
        if not stat.S_ISDIR(a.st_mode):
            if a.st_size != b.st_size: err(f"{rel}: size {a.st_size} != {b.st_size}")
            if a.st_mtime_ns != b.st_mtime_ns: err(f"{rel}: mtime {a.st_mtime_ns} != {b.st_mtime_ns}")
            want_nlink = a.st_nlink if hardlinks else 1
            if b.st_nlink != want_nlink: err(f"{rel}: nlink {b.st_nlink} != {want_nlink}")
        if stat.S_ISREG(a.st_mode):
            with open(s, "rb") as x, open(m, "rb") as y:
                if x.read() != y.read(): err(f"{rel}: content differs")
        elif stat.S_ISLNK(a.st_mode):
            if os.readlink(s) != os.readlink(m): err(f"{rel}: symlink target differs")
        elif stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode):
            if a.st_rdev != b.st_rdev: err(f"{rel}: rdev differs")
        if xattrs(s) != xattrs(m): err(f"{rel}: xattrs {sorted(xattrs(s))} != {sorted(xattrs(m))}")
# The 00..ff stubs are whiteouts in the image: hidden by overlayfs.
for stub in ("00", "7f", "ff"):
    if os.path.lexists(os.path.join(mnt, stub)): err(f"stub {stub} visible")
if set(os.listdir(mnt)) != set(os.listdir(src)): err(f"top level differs: {sorted(os.listdir(mnt))}")
print(f"compared {n} entries, {bad} problems")
sys.exit(1 if bad else 0)
PY
}

for mode in 0 1 sha512; do
  extra=()
  [ "$mode" = 1 ] && extra=(--hardlinks)
  [ "$mode" = sha512 ] && extra=(--hash sha512)
  rm -rf "$T/objects"
  "$BOOTSEAL" composefs mkfs "${extra[@]}" --digest-store "$T/objects" "$T/tree" "$T/image.cfs"
  mount -t erofs -o loop,ro "$T/image.cfs" "$T/erofs"
  if ! mount -t overlay overlay -o "ro,lowerdir=$T/erofs::$T/objects,metacopy=on,redirect_dir=on" "$T/ovl" 2> "$T/err"; then
    echo "overlayfs with a data-only lower failed on $(uname -r): $(cat "$T/err")"
    umount "$T/erofs"
    grep -q "unknown\|invalid" "$T/err" && [ "$(uname -r | cut -d. -f1)" -lt 6 ] && exit 77
    exit 1
  fi
  compare "$([ "$mode" = 1 ] && echo 1 || echo 0)" || fail=1
  # A missing object is an I/O error, not wrong data.
  obj=$("$BOOTSEAL" composefs info objects "$T/image.cfs" | head -1)
  umount "$T/ovl"
  mv "$T/objects/$obj" "$T/moved"
  mount -t overlay overlay -o "ro,lowerdir=$T/erofs::$T/objects,metacopy=on,redirect_dir=on" "$T/ovl"
  if cat "$T/ovl/a/big" > /dev/null 2>&1 && cat "$T/ovl/s65" > /dev/null 2>&1 && cat "$T/ovl/s4097" > /dev/null 2>&1 && cat "$T/ovl/bin/tool" > /dev/null 2>&1; then
    echo "FAIL reading with object $obj missing succeeded"; fail=1
  fi
  umount "$T/ovl"
  mv "$T/moved" "$T/objects/$obj"
  umount "$T/erofs"
done
exit "$fail"
