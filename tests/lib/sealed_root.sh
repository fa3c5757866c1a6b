# mkroot DIR [VERSION]: a minimal bootable-looking root tree (the payload
# kernel and a module subset, os-release, /etc, /var, /boot, /sysroot), for
# tests that seal images without booting them. Sourced after tests/lib.sh.
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
[ -f "$PAY/kernel/.done" ] || { echo "missing boot payloads: run tools/fetch-payloads"; exit 1; }
KVER=$(cat "$PAY/kernel/kver")
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub

mkroot() {
  local r=$1 v=${2:-1} m=$1/usr/lib/modules/$KVER
  mkdir -p "$r"/{etc,var/lib,boot,sysroot,usr/bin,usr/lib} "$m/kernel/drivers"
  printf 'ID=tiny\nVERSION_ID=%s\nPRETTY_NAME="tiny test OS %s"\n' "$v" "$v" > "$r/usr/lib/os-release"
  echo hello > "$r/etc/motd"; echo 1 > "$r/var/lib/state"
  cp "$PAY/kernel/vmlinuz" "$m/vmlinuz"
  for d in fs lib crypto arch; do cp -a "$PAY/kernel/lib/modules/$KVER/kernel/$d" "$m/kernel/"; done
  cp -a "$PAY/kernel/lib/modules/$KVER/kernel/drivers/block" "$m/kernel/drivers/"
  cp "$PAY/kernel/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$m/" 2>/dev/null || true
  depmod -b "$r/usr" "$KVER" 2>/dev/null || depmod -b "$r" "$KVER"
}
