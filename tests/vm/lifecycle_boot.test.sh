#!/bin/bash
# The life cycle in real boots (issue 8's cross-format rule): a V1-pinned
# system installed by `disk create` is switched offline to a second image whose
# UKI was sealed for EROFS V2 (by `disk create` on a V2-pinned repository, as a
# bootc <= 1.16.3 builder would); bootseal writes the V2 image beside the pinned
# format, and the new default entry boots under Secure Boot: setup-root
# measures the image against the UKI's digest and mounts it with
# verity=require; the /etc merge carried the local change. Then `rollback`
# makes the first deployment the default again, and it boots.
set -euo pipefail
. "$SRC/tests/vm/lib.sh"
need_payloads
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/lifecycle_boot}; mkdir -p "$LOGDIR"
. "$SRC/tests/lib/sealed_root.sh"
cd "$T"
B() { "$BOOTSEAL" "$@"; }

# mk DIR VERSION: mkroot plus busybox, a reporting /usr/bin/init and virtio modules.
mk() {
  mkroot "$1" "$2"
  local r=$1
  cp -a "$PAY/kernel/lib/modules/$KVER/kernel/drivers/virtio" "$r/usr/lib/modules/$KVER/kernel/drivers/"
  depmod -b "$r/usr" "$KVER"
  mkdir -p "$r"/{proc,sys,dev,run,tmp}
  cp /bin/busybox "$r/usr/bin/busybox"
  for a in sh cat echo grep sed sync poweroff mount; do ln -sf busybox "$r/usr/bin/$a"; done
  ln -s usr/bin "$r/bin"; ln -s usr/bin "$r/sbin"
  cat > "$r/usr/bin/init" <<'INIT'
#!/bin/sh
export PATH=/usr/bin
. /usr/lib/os-release
echo "LIFE: version $VERSION_ID"
echo "LIFE: cmdline $(cat /proc/cmdline)"
grep ' / overlay ' /proc/mounts | grep -q 'verity=require' && echo "LIFE: verity=require on /"
echo "LIFE: motd $(cat /etc/motd)"
echo "LIFE: app $(cat /usr/bin/app)"
sync
echo "LIFE-OK"
poweroff -f
INIT
  chmod 755 "$r/usr/bin/init"
  echo "app $2" > "$r/usr/bin/app"
}
mk v1 1
mk v2 2; echo "motd from v2" > v2/etc/motd

B -q keys generate --dir keys --name "bootseal lifecycle test"
B -q repo init --repo repo >/dev/null                 # V1, SHA-512
B -q image import --repo repo --ref v1 "dir:$T/v1" >/dev/null 2>&1
# force: this boot relies on setup-mode auto-enrollment; the default (if-safe) also
# enrolls in a VM (systemd-boot 254's in_hypervisor()), force keeps it independent of that.
B -q disk create --repo repo --image v1 --keys keys -o disk1.raw --work-dir w --keep-work --secure-boot-enroll force >/dev/null
D1=$(B -q image digest --repo repo v1)
B -q repo init --repo repo2 --format v2 >/dev/null   # a V2 builder
B -q image import --repo repo2 --ref v2 "dir:$T/v2" >/dev/null 2>&1
B -q disk create --repo repo2 --image v2 --keys keys -o v2disk.raw >/dev/null
D2V2=$(B -q image digest --format v2 "dir:$T/v2")
check() { grep -aq "$2" "$LOGDIR/$1.serial.log" || { echo "$1: missing '$2'"; exit 1; }; }

# Local /etc change on the installed system, then the cross-format switch, offline.
echo "local motd" > "w/root/state/deploy/$D1/etc/motd"
B switch --sysroot w/root --esp w/esp --uki v2disk.raw.uki.efi "dir:$T/v2" | tee switch.out
grep -q "note: the UKI was sealed for EROFS V2" switch.out || { echo "no cross-format note"; exit 1; }
grep -q "^staged:   $D2V2" switch.out || { echo "staged is not the V2 digest"; exit 1; }
# switch stages; finalize (at shutdown on a running system) applies it
B finalize --sysroot w/root --esp w/esp | tee finalize.out
grep -q "^default:  $D2V2" finalize.out || { echo "default is not the V2 digest"; exit 1; }
B -q disk assemble --esp w/esp --root w/root -o upgraded.raw --esp-size 64M
vm_boot switched upgraded.raw --secure-boot --enroll keys --timeout 180 \
  --expect LIFE-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
check switched "LIFE: version 2"
check switched "LIFE: cmdline composefs=$D2V2"
check switched "LIFE: verity=require on /"
check switched "LIFE: motd local motd"
check switched "LIFE: app app 2"
check switched "bootseal-setup-root: sealed root $D2V2 verified"

# Rollback, offline: the V1 deployment boots again.
B rollback --sysroot w/root --esp w/esp
B -q disk assemble --esp w/esp --root w/root -o rolledback.raw --esp-size 64M
vm_boot rolledback rolledback.raw --secure-boot --enroll keys --timeout 180 \
  --expect LIFE-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
check rolledback "LIFE: version 1"
check rolledback "LIFE: cmdline composefs=$D1"
check rolledback "LIFE: motd local motd"

# The disk `disk create` wrote, booted from an empty variable store (Secure Boot setup
# mode): systemd-boot enrolls the key set from the ESP's loader/keys/auto/*.auth
# ("secure-boot-enroll force" in loader.conf), resets, and the signed UKI boots under
# Secure Boot enforcing.
vm_boot setup-mode disk1.raw --secure-boot --timeout 300 \
  --expect LIFE-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic" --fail-on "Access denied"
check setup-mode "Enrolling secure boot keys from directory: .loader.keys.auto"
check setup-mode "Custom Secure Boot keys successfully enrolled"
check setup-mode "secureboot: Secure boot enabled"
check setup-mode "LIFE: version 1"
check setup-mode "LIFE: verity=require on /"
echo ok
