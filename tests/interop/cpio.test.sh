#!/bin/bash
# Our cpio newc writer against GNU cpio (both directions), determinism, bad input.
set -euo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
MODS="$PAY/kernel"
command -v cpio >/dev/null || { echo "GNU cpio missing (tools/setup installs it)"; exit 1; }

printf 'hello\n' > "$T/hello"; printf '#!/bin/sh\necho tiny\n' > "$T/init"
mod_args=(--no-modules)
[ -d "$MODS" ] && mod_args=(--kernel-modules-from "$MODS" --module erofs)
"$BOOTSEAL" initrd build "${mod_args[@]}" --init "$T/init" --add "$T/hello:etc/hello.txt" -o "$T/a.cpio"
"$BOOTSEAL" initrd build "${mod_args[@]}" --init "$T/init" --add "$T/hello:etc/hello.txt" -o "$T/b.cpio"
cmp "$T/a.cpio" "$T/b.cpio" || { echo "two builds differ"; exit 1; }

# Compressed output decompresses to the same archive (the kernel's zstd and xz).
"$BOOTSEAL" -q initrd build "${mod_args[@]}" --init "$T/init" --add "$T/hello:etc/hello.txt" --compress zstd -o "$T/a.cpio.zst"
zstd -dc "$T/a.cpio.zst" | cmp - "$T/a.cpio"
"$BOOTSEAL" -q initrd build "${mod_args[@]}" --init "$T/init" --add "$T/hello:etc/hello.txt" --compress xz -o "$T/a.cpio.xz"
xz -dc "$T/a.cpio.xz" | cmp - "$T/a.cpio"
xz -lv "$T/a.cpio.xz" | grep -q CRC32 || { echo "xz initrd must use CRC32 for the kernel"; exit 1; }

# 1. GNU cpio lists exactly our members, in our (sorted) order.
cpio -it --quiet < "$T/a.cpio" > "$T/gnu.list"
"$BOOTSEAL" initrd list "$T/a.cpio" | awk '{print $4}' > "$T/ours.list"
diff "$T/gnu.list" "$T/ours.list"
sort -c "$T/gnu.list" 2>/dev/null || LC_ALL=C sort -c "$T/gnu.list"
grep -qx 'TRAILER!!!' "$T/gnu.list" && { echo "trailer listed as a member"; exit 1; }
grep -qx 'init' "$T/gnu.list"; grep -qx 'dev/console' "$T/gnu.list"; grep -qx 'bin/busybox' "$T/gnu.list"

# 2. GNU cpio extracts it: content, modes, symlinks.
mkdir "$T/x"; (cd "$T/x" && cpio -idmv --quiet --no-absolute-filenames < "$T/a.cpio" 2>"$T/x.log") || { cat "$T/x.log"; exit 1; }
cmp "$T/x/etc/hello.txt" "$T/hello"
cmp "$T/x/init" "$T/init"
[ -x "$T/x/init" ] || { echo "/init not executable"; exit 1; }
cmp "$T/x/bin/busybox" /bin/busybox
[ "$(readlink "$T/x/bin/sh")" = busybox ]
[ "$(stat -c %a "$T/x/tmp")" = 1777 ]
if [ -d "$MODS" ]; then
  ko=$(find "$T/x/usr/lib/modules" -name erofs.ko); [ -n "$ko" ]
  modinfo "$ko" | grep -q '^name: *erofs' || { echo "erofs.ko does not look like a module"; exit 1; }
  grep -q erofs.ko "$T/x/etc/bootseal/modules"
  # load order: crc32c before libcrc32c before erofs
  order=$(grep -n -e crc32c_generic -e libcrc32c -e erofs.ko "$T/x/etc/bootseal/modules" | cut -d: -f1 | tr '\n' ' ')
  [ "$order" = "$(echo "$order" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" ]
fi
# every member's mtime is fixed (0 unless SOURCE_DATE_EPOCH)
[ "$(find "$T/x" -newermt '@1' ! -type l ! -type d | wc -l)" = 0 ] || { echo "mtime not fixed"; exit 1; }
[ "$(TZ=UTC cpio -itv --quiet < "$T/a.cpio" | grep -vc ' Jan  1  1970 ')" = 0 ] || { echo "mtime not fixed (cpio -itv)"; exit 1; }

# 3. Our reader reads GNU cpio's output.
mkdir -p "$T/src/d/e"; printf 'abc' > "$T/src/d/e/f"; ln -s d/e/f "$T/src/l"; : > "$T/src/empty"
head -c 4099 /dev/urandom > "$T/src/odd"
(cd "$T/src" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet) > "$T/gnu.cpio"
"$BOOTSEAL" initrd list "$T/gnu.cpio" > "$T/gnu-read.list"
grep -q ' 4099 odd$' "$T/gnu-read.list"
grep -q ' l -> d/e/f$' "$T/gnu-read.list"
grep -q ' 3 d/e/f$' "$T/gnu-read.list"
[ "$(wc -l < "$T/gnu-read.list")" = "$(cd "$T/src" && find . | wc -l)" ]

# 3b. --add PATH (same path in the archive) and directories with their contents.
mkdir -p "$T/tree/sub/deeper"; printf 'conf\n' > "$T/tree/a.conf"; printf 'x' > "$T/tree/sub/deeper/x"
chmod 0600 "$T/tree/a.conf"; ln -s a.conf "$T/tree/link"
"$BOOTSEAL" -q initrd build --no-modules --init "$T/init" --add "$T/hello" --add "$T/tree:etc/tree" -o "$T/add.cpio"
mkdir "$T/xa"; (cd "$T/xa" && cpio -idm --quiet --no-absolute-filenames < "$T/add.cpio")
cmp "$T/xa/${T#/}/hello" "$T/hello"
cmp "$T/xa/etc/tree/a.conf" "$T/tree/a.conf"
[ "$(stat -c %a "$T/xa/etc/tree/a.conf")" = 600 ] || { echo "--add lost a mode"; exit 1; }
cmp "$T/xa/etc/tree/sub/deeper/x" "$T/tree/sub/deeper/x"
[ "$(readlink "$T/xa/etc/tree/link")" = a.conf ] || { echo "--add did not keep a symlink"; exit 1; }
"$BOOTSEAL" initrd list "$T/add.cpio" | awk '{print $4}' | grep -qx "etc/tree/sub" || { echo "no directory entry etc/tree/sub"; exit 1; }
if "$BOOTSEAL" initrd build --no-modules --add "$T/missing-file" -o "$T/m.cpio" 2>"$T/err"; then echo "missing --add accepted"; exit 1; fi
grep -q "missing-file" "$T/err"; [ ! -e "$T/m.cpio" ]

# 4. Bad input: a truncated archive and a missing module are clear errors.
head -c 300 "$T/gnu.cpio" > "$T/trunc.cpio"
if "$BOOTSEAL" initrd list "$T/trunc.cpio" 2>"$T/err"; then echo "truncated archive accepted"; exit 1; fi
grep -q truncated "$T/err"
if [ -d "$MODS" ]; then
  if "$BOOTSEAL" initrd build --kernel-modules-from "$MODS" --module no_such_module -o "$T/c.cpio" 2>"$T/err"; then
    echo "missing module accepted"; exit 1; fi
  grep -q "'no_such_module' not found" "$T/err"
  [ ! -e "$T/c.cpio" ] || { echo "partial output left"; exit 1; }
fi
echo ok
