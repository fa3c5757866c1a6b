# Shared by tests/vm/*.test.sh: payload lookup and the tiny example's build steps.
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
SDBOOT=$PAY/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
KERNEL=$PAY/kernel/vmlinuz
TINY=$SRC/examples/tiny

need_payloads() {
  for f in "$STUB" "$SDBOOT" "$KERNEL" "$PAY/kernel/lib/modules"; do
    [ -e "$f" ] || { echo "missing boot payload $f: run tools/fetch-payloads (tools/setup does)"; exit 1; }
  done
  for t in qemu-system-x86_64 swtpm virt-fw-vars sbsign objcopy mkfs.vfat mcopy sfdisk openssl; do
    command -v $t >/dev/null || { echo "missing tool $t: run tools/setup"; exit 1; }
  done
}

# build_tiny DIR [CMDLINE]: DIR/{initrd.cpio,tiny-unsigned.efi,tiny.efi,sdboot.efi,keys/,disk.img,disk-unsigned.img}
build_tiny() {
  local d=$1 cmdline=${2:-console=ttyS0 panic=-1 no_timer_check}
  "$BOOTSEAL" -q initrd build --kernel-modules-from "$PAY/kernel" --init "$TINY/init" -o "$d/initrd.cpio"
  "$TINY/mkuki.sh" "$STUB" "$KERNEL" "$d/initrd.cpio" "$cmdline" "$SRC/examples/data/os-release" "$d/tiny-unsigned.efi"
  [ -d "$d/keys" ] || "$TINY/mkkeys.sh" "$d/keys"
  sbsign --key "$d/keys/db.key" --cert "$d/keys/db.crt" --output "$d/tiny.efi" "$d/tiny-unsigned.efi" 2>/dev/null
  sbsign --key "$d/keys/db.key" --cert "$d/keys/db.crt" --output "$d/sdboot.efi" "$SDBOOT" 2>/dev/null
  sbverify --cert "$d/keys/db.crt" "$d/tiny.efi" >/dev/null 2>&1
  "$TINY/mkdisk.sh" "$d/disk.img" "$d/sdboot.efi" "$d/tiny.efi"
  "$TINY/mkdisk.sh" "$d/disk-unsigned.img" "$d/sdboot.efi" "$d/tiny-unsigned.efi"
}

# vm_boot NAME ARGS...: one boot, serial log kept in $LOGDIR/NAME.serial.log, wall time printed.
vm_boot() {
  local name=$1; shift
  local t0=$(date +%s.%N) rc=0
  "$BOOTSEAL" -q vm run --serial-log "$LOGDIR/$name.serial.log" "$@" || rc=$?
  echo "boot $name: exit $rc, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  return $rc
}
