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
  for t in qemu-system-x86_64 swtpm virt-fw-vars sbverify mkfs.vfat mcopy mke2fs sfdisk; do
    command -v $t >/dev/null || { echo "missing tool $t: run tools/setup"; exit 1; }
  done
}

# tiny_uki OUT INITRD CMDLINE: an unsigned UKI built by bootseal from the payload stub and kernel.
tiny_uki() {
  "$BOOTSEAL" -q uki build --stub "$STUB" --linux "$KERNEL" --initrd "$2" --cmdline "$3" \
    --os-release "@$SRC/examples/data/os-release" --output "$1"
}

# tiny_disk OUT BOOTX64.EFI UKI [KEYDIR]: a GPT disk (bootseal disk assemble) whose ESP holds
# EFI/BOOT/BOOTX64.EFI, EFI/Linux/tiny.efi and loader/loader.conf. With KEYDIR, also
# loader/keys/auto/{PK,KEK,db}.auth and "secure-boot-enroll force": systemd-boot enrolls
# them when the firmware is in setup mode. assemble also adds an (empty) ext4 root
# partition; the tiny initrd never looks at it.
tiny_disk() {
  local out=$1 boot=$2 uki=$3 keys=${4:-} st
  st=$(mktemp -d "$out.stage.XXXXXX")
  mkdir -p "$st/esp/EFI/BOOT" "$st/esp/EFI/Linux" "$st/esp/loader" "$st/root"
  cp "$boot" "$st/esp/EFI/BOOT/BOOTX64.EFI"
  cp "$uki" "$st/esp/EFI/Linux/tiny.efi"
  printf 'timeout 0\ndefault tiny.efi\n' > "$st/esp/loader/loader.conf"
  if [ -n "$keys" ]; then
    printf 'secure-boot-enroll force\n' >> "$st/esp/loader/loader.conf"
    mkdir -p "$st/esp/loader/keys/auto"
    for k in PK KEK db; do cp "$keys/$k.auth" "$st/esp/loader/keys/auto/$k.auth"; done
  fi
  "$BOOTSEAL" -q disk assemble --esp "$st/esp" --root "$st/root" --esp-size 64M -o "$out"
  rm -rf "$st"
}

# build_tiny DIR [CMDLINE]: DIR/{initrd.cpio,tiny-unsigned.efi,tiny.efi,sdboot.efi,keys/,disk.img,disk-unsigned.img}
# All with bootseal's own tools; sbverify stays as the independent check of bootseal sign.
build_tiny() {
  local d=$1 cmdline=${2:-console=ttyS0 panic=-1 no_timer_check}
  "$BOOTSEAL" -q initrd build --kernel-modules-from "$PAY/kernel" --init "$TINY/init" -o "$d/initrd.cpio"
  tiny_uki "$d/tiny-unsigned.efi" "$d/initrd.cpio" "$cmdline"
  [ -d "$d/keys" ] || "$BOOTSEAL" -q keys generate --dir "$d/keys" --name "bootseal tiny test"
  "$BOOTSEAL" -q sign --key "$d/keys/db.key" --cert "$d/keys/db.crt" --output "$d/tiny.efi" "$d/tiny-unsigned.efi"
  "$BOOTSEAL" -q sign --key "$d/keys/db.key" --cert "$d/keys/db.crt" --output "$d/sdboot.efi" "$SDBOOT"
  sbverify --cert "$d/keys/db.crt" "$d/tiny.efi" >/dev/null 2>&1 || { echo "sbverify rejects bootseal sign's UKI"; return 1; }
  sbverify --cert "$d/keys/db.crt" "$d/sdboot.efi" >/dev/null 2>&1 || { echo "sbverify rejects bootseal sign's systemd-boot"; return 1; }
  tiny_disk "$d/disk.img" "$d/sdboot.efi" "$d/tiny.efi"
  tiny_disk "$d/disk-unsigned.img" "$d/sdboot.efi" "$d/tiny-unsigned.efi"
}

# pcr11_of LOG: the PCR 11 (sha256) the tiny /init printed, upper-case hex.
pcr11_of() { grep -a "TINY: pcr-sha256 11:" "$1" | tr -d '\r' | awk '{print toupper($NF)}' | head -1; }

# predict11 UKI: bootseal's offline PCR 11 (sha256) for UKI, sections only (no phase),
# i.e. what systemd-stub leaves in PCR 11 before userspace runs, upper-case hex.
predict11() { "$BOOTSEAL" pcr predict "$1" --bank sha256 --phase '' | awk -F= '/^11:sha256=/ {print toupper($2)}'; }

# vm_boot NAME ARGS...: one boot, serial log kept in $LOGDIR/NAME.serial.log, wall time printed.
vm_boot() {
  local name=$1; shift
  local t0=$(date +%s.%N) rc=0
  # One guest CPU unless the caller asks for more: under TCG on a loaded host, SMP guests
  # occasionally die in early boot on a stale int3 of the kernel's cross-CPU text patching
  # ("Oops: int3 ... sched_clock_cpu"); the small test systems gain nothing from a second CPU.
  local smp=(--smp "${VM_SMP:-1}")
  case " $* " in *" --smp "*) smp=() ;; esac
  "$BOOTSEAL" -q vm run --serial-log "$LOGDIR/$name.serial.log" "${smp[@]}" "$@" || rc=$?
  echo "boot $name: exit $rc, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  return $rc
}

# with_lock LOCKFILE CMD...: runs CMD under `flock LOCKFILE` (/tmp/bootseal-vm.lock: one
# VM at a time on the machine; /tmp/bootseal-debian.lock: one example build, which
# shares the debootstrap cache), unless an ancestor of this shell already holds it
# (the test was started as `flock LOCKFILE ctest ...`): then CMD runs as is.
with_lock() {
  local lock=$1 ino pid p; shift
  [ -e "$lock" ] || : > "$lock"
  ino=$(stat -c %i "$lock")
  for pid in $(awk -v i="$ino" '$2 == "FLOCK" { n = split($6, a, ":"); if (a[n] == i) print $5 }' /proc/locks); do
    p=$$
    while [ -n "$p" ] && [ "$p" -gt 1 ]; do
      if [ "$p" = "$pid" ]; then "$@"; return; fi
      p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
    done
  done
  flock "$lock" "$@"
}
