#!/usr/bin/env bash
# The Debian package (tools/package) installs on a clean Debian 12 with only
# Debian packages: a debootstrap --variant=minbase bookworm chroot (cached in
# $BOOTSEAL_CACHE, default /var/cache/bootseal), `dpkg -i` (which stops on the
# missing Depends) then `apt-get -f install`, then `bootseal --version` runs in
# the chroot; the policy layout (/usr/bin, /usr/lib/bootseal, units in
# /usr/lib/systemd/system, docs) and the enabled finalize path unit are checked.
source "$SRC/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, chroot)"; exit 77; }
need dpkg-deb dpkg-shlibdeps debootstrap chroot
source "$SRC/tools/lib/debian-mirror.sh"
CACHE=${BOOTSEAL_CACHE:-/var/cache/bootseal}
DEB=$(BUILD_DIR="$BUILD" "$SRC/tools/package" -o "$TMP/pkg")
check_eq "package name" "bootseal_0.1.0_$(dpkg --print-architecture).deb" "$(basename "$DEB")"
dpkg-deb -c "$DEB" | awk '{print $6}' > contents
for p in ./usr/bin/bootseal ./usr/lib/bootseal/bootseal-setup-root ./usr/lib/systemd/system/bootseal-finalize-staged.service \
         ./usr/lib/systemd/system/bootseal-finalize-staged.path ./usr/lib/systemd/system/bootseal-healthcheck.service ./usr/lib/systemd/system/boot.automount.d/bootseal.conf ./usr/lib/bootseal/bootseal-healthcheck ./usr/share/doc/bootseal/copyright ./usr/share/doc/bootseal/lifecycle.md; do
  grep -qx "$p" contents && pass || fail "package lacks $p"
done
dpkg-deb -f "$DEB" Depends | grep -q 'libc6' && pass || fail "Depends: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -c "$DEB" | awk '$2 != "root/root" {print}' | grep -q . && fail "files not owned by root" || pass
grep -q '^ExecStop=/usr/bin/bootseal finalize$' "$SRC/packaging/systemd/bootseal-finalize-staged.service" && pass || fail "ExecStop"

base=$CACHE/debian-bookworm-minbase-clean.tar
if [ ! -s "$base" ]; then
  mkdir -p "$CACHE" "$TMP/boot"
  debootstrap --variant=minbase bookworm "$TMP/boot" "$(debian_mirror)" > "$TMP/debootstrap.log" 2>&1 ||
    { tail -20 "$TMP/debootstrap.log"; fail "debootstrap"; finish; }
  tar -C "$TMP/boot" --numeric-owner -cf "$base.tmp" . && mv "$base.tmp" "$base"
  rm -rf "$TMP/boot"
fi
R=$TMP/chroot
mkdir -p "$R" && tar -C "$R" --numeric-owner -xf "$base"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$R/tmp/bootseal.deb"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2>/dev/null || true; rm -rf "$TMP"' EXIT
rc=0; chroot "$R" dpkg -i /tmp/bootseal.deb > dpkg.log 2>&1 || rc=$?
chroot "$R" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq' > apt.log 2>&1 ||
  { tail -20 apt.log; fail "apt-get -f install"; }
check_eq "installed" "install ok installed" "$(chroot "$R" dpkg-query -W -f '${Status}' bootseal 2>/dev/null)"
chroot "$R" bootseal --version > version.txt 2>&1 && pass || fail "bootseal --version in the chroot: $(cat version.txt)"
grep -q '0.1.0' version.txt && pass || fail "version: $(cat version.txt)"
[ -x "$R/usr/lib/bootseal/bootseal-setup-root" ] && pass || fail "setup-root not installed"
echo "dpkg -i exit $rc (missing Depends expected: $(grep -c 'depends on' dpkg.log) unmet)"
finish
