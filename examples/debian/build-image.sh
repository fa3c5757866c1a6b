#!/usr/bin/env bash
# Builds the built-in example: a lean, real Debian 12 systemd OS as an OCI image
# (OCI layout directory), ready for `bootseal image import oci:DIR:TAG`.
#
#   examples/debian/build-image.sh OUT_LAYOUT_DIR [TAG]
#
# The image carries bootseal itself: the Debian package tools/package builds
# from this tree ($BOOTSEAL_DEB, or built here from ${BUILD_DIR:-build}), installed
# with dpkg, so `bootseal status`, `upgrade`, `switch` and `rollback` work on the
# booted machine; its Depends (from dpkg-shlibdeps) and systemd-boot (for
# systemd-bless-boot, UAPI boot counting) are debootstrapped along.
#
# debootstrap --variant=minbase bookworm with systemd, udev, kmod and the tss2
# libraries systemd's PCR-phase units load; the bookworm-backports 6.12 kernel
# (vmlinuz + the module subset the sealed boot needs) under /usr/lib/modules/<kver>/;
# trimmed (docs, man pages, locales, apt lists); an empty machine-id;
# autologin on the serial console; and bootseal-report.service, which prints the
# boot's verdict on the console and powers off. The debootstrap result is cached
# (BOOTSEAL_CACHE, default /var/cache/bootseal) so later runs take seconds.
set -euo pipefail
OUT=${1:?usage: build-image.sh OUT_LAYOUT_DIR [TAG]}
TAG=${2:-latest}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${BOOTSEAL_CACHE:-/var/cache/bootseal}
PAYLOADS=${BOOTSEAL_PAYLOADS:-$CACHE/payloads}
. "$HERE/../../tools/lib/debian-mirror.sh"
MIRROR=$(debian_mirror)  # $DEBIAN_MIRROR, else the machine's configured apt source
INCLUDE=systemd,systemd-sysv,udev,kmod,libtss2-esys-3.0.2-0,libtss2-mu0,libtss2-rc0,libtss2-tcti-device0,systemd-boot
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}  # 2025-01-01: fixed mtimes for what we add

log() { echo "example: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { echo "example: debootstrap needs root" >&2; exit 1; }
[ -f "$PAYLOADS/kernel/.done" ] || { echo "example: no kernel payload in $PAYLOADS (run tools/setup)" >&2; exit 1; }
KVER=$(cat "$PAYLOADS/kernel/kver")
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/bootseal-example.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/rootfs

# 0. The bootseal package (tools/package) and its Depends.
DEB=${BOOTSEAL_DEB:-}
if [ -z "$DEB" ]; then
  log "building the bootseal package (tools/package)"
  DEB=$(cd "$HERE/../.." && tools/package -o "$WORK/deb") || { echo "example: tools/package failed (build the tree first: tools/build)" >&2; exit 1; }
fi
[ -f "$DEB" ] || { echo "example: $DEB: no such package" >&2; exit 1; }
# "libc6 (>= 2.34), libssl3 (>= 3.0.0), a | b" -> libc6,libssl3,a (bookworm has what the tree was built against)
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep . | sort -u | paste -sd, -)
INCLUDE=$INCLUDE,$deps

# 1. debootstrap (cached as a tarball of the finished minbase tree, one per package set).
base_tar=$CACHE/debian-bookworm-minbase-$(printf '%s' "$INCLUDE" | tr ',' '\n' | sort -u | sha256sum | cut -c1-12).tar
if [ ! -s "$base_tar" ]; then
  log "debootstrap --variant=minbase bookworm (about 40 s, cached afterwards in $base_tar)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include="$INCLUDE" bookworm "$WORK/debootstrap" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; echo "example: debootstrap failed" >&2; exit 1; }
  tar -C "$WORK/debootstrap" --xattrs --xattrs-include='*' --numeric-owner -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$WORK/debootstrap"
fi
log "unpacking the cached minbase tree"
mkdir -p "$ROOT"
tar -C "$ROOT" --xattrs --xattrs-include='*' --numeric-owner -xf "$base_tar"

# 2. Kernel and the module subset (fs, crypto, lib, arch, block, virt and the
#    drivers a virtio/q35 guest and its TPM need), decompressed: the appended
#    signatures survive, so lockdown under Secure Boot still accepts them.
log "adding kernel $KVER and its module subset"
M=$ROOT/usr/lib/modules/$KVER
mkdir -p "$M/kernel/drivers"
src=$PAYLOADS/kernel/lib/modules/$KVER
for d in fs lib crypto arch block virt; do cp -a "$src/kernel/$d" "$M/kernel/"; done
for d in block virtio char input firmware md i2c platform watchdog acpi tty rtc; do
  [ -d "$src/kernel/drivers/$d" ] && cp -a "$src/kernel/drivers/$d" "$M/kernel/drivers/"
done
cp -a "$src"/modules.order "$src"/modules.builtin* "$M/" 2>/dev/null || true
find "$M" -name '*.ko.xz' -exec xz -d {} +
depmod -b "$ROOT" "$KVER"
cp "$PAYLOADS/kernel/boot/vmlinuz-$KVER" "$M/vmlinuz"

# 3. Trim and configure.
log "trimming and configuring"
rm -rf "$ROOT"/usr/share/{doc,man,info,locale,lintian,linda} "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
       "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/log/*.log "$ROOT"/boot/* 2>/dev/null || true
mkdir -p "$ROOT/sysroot" "$ROOT/boot"
: > "$ROOT/etc/machine-id"
echo bootseal-example > "$ROOT/etc/hostname"
# Autologin on the serial console.
mkdir -p "$ROOT/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$ROOT/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'UNIT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
UNIT
# Units that only cost boot time under emulation.
for u in getty-static.service e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
# setup-root names the physical root in /run/systemd/volatile-root (so the booted ESP is
# automounted); systemd-gpt-auto-generator then also asks systemd-remount-fs to remount
# "/" read-write (its drop-in 50-remount-rw.conf), which the sealed read-only overlay
# refuses. The same-named drop-in here replaces the generator's: "/" stays as sealed.
mkdir -p "$ROOT/etc/systemd/system/systemd-remount-fs.service.d"
printf '[Service]\nEnvironment=SYSTEMD_REMOUNT_ROOT_RW=0\n' >"$ROOT/etc/systemd/system/systemd-remount-fs.service.d/50-remount-rw.conf"
# bootseal itself (enables bootseal-finalize-staged.path and bootseal-healthcheck.service).
cp "$DEB" "$ROOT/tmp/bootseal.deb"
chroot "$ROOT" dpkg -i /tmp/bootseal.deb >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log" >&2; echo "example: dpkg -i $(basename "$DEB") failed" >&2; exit 1; }
rm -f "$ROOT/tmp/bootseal.deb" "$ROOT"/var/log/dpkg.log
install -m 0755 "$HERE/bootseal-report" "$ROOT/usr/libexec/bootseal-report"
install -m 0644 "$HERE/bootseal-report.service" "$ROOT/etc/systemd/system/bootseal-report.service"
ln -sf /etc/systemd/system/bootseal-report.service "$ROOT/etc/systemd/system/multi-user.target.wants/bootseal-report.service"
# Canary files the tamper tests flip on the root disk (bigger than 64 bytes, so they are external objects).
mkdir -p "$ROOT/usr/share/bootseal"
for n in canary-inplace canary-replaced; do
  python3 -c "import sys; sys.stdout.write(('bootseal %s canary\n' % sys.argv[1]) * 512)" "$n" > "$ROOT/usr/share/bootseal/$n"
done
# Timestamps of what we added: fixed.
find "$ROOT/usr/share/bootseal" "$ROOT/usr/libexec/bootseal-report" "$ROOT/etc/systemd/system" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# 4. Pack as a one-layer OCI image with umoci (repack computes the layer from the rootfs).
log "packing the OCI image into $OUT:$TAG"
need_layout=1
[ -f "$OUT/oci-layout" ] && need_layout=0
[ $need_layout -eq 1 ] && umoci init --layout "$OUT"
umoci new --image "$OUT:$TAG"
umoci unpack --image "$OUT:$TAG" "$WORK/bundle" >/dev/null
rm -rf "$WORK/bundle/rootfs"
mv "$ROOT" "$WORK/bundle/rootfs"
umoci repack --image "$OUT:$TAG" "$WORK/bundle"
umoci config --image "$OUT:$TAG" --config.cmd /sbin/init --architecture amd64 --os linux \
  --config.label "org.opencontainers.image.version=12" --config.label "containers.bootc=1" \
  --created "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
umoci gc --layout "$OUT"
log "done: oci:$OUT:$TAG"
