#!/bin/bash
# Writes a GPT disk image with one FAT32 ESP, without mounting anything:
#   mkdisk.sh OUT BOOTX64.EFI UKI [ESP_MIB]
# ESP: EFI/BOOT/BOOTX64.EFI (systemd-boot), EFI/Linux/tiny.efi, loader/loader.conf.
# With AUTO_ENROLL=KEYDIR: also loader/keys/auto/{PK,KEK,db}.auth and
# "secure-boot-enroll force", so firmware in setup mode gets the keys from systemd-boot.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 OUT BOOTX64.EFI UKI [ESP_MIB]" >&2; exit 2; }
out=$1 boot=$2 uki=$3 esp_mib=${4:-64}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1
mkfs.vfat -C -F 32 -n ESP -i 0B007EA1 "$tmp/esp.img" $((esp_mib * 1024)) >/dev/null
printf 'timeout 0\ndefault tiny.efi\n' > "$tmp/loader.conf"
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
if [ -n "${AUTO_ENROLL:-}" ]; then
  printf 'secure-boot-enroll force\n' >> "$tmp/loader.conf"
  mmd -i "$tmp/esp.img" ::/loader/keys ::/loader/keys/auto
  for k in PK KEK db; do mcopy -i "$tmp/esp.img" "$AUTO_ENROLL/$k.auth" "::/loader/keys/auto/$k.auth"; done
fi
mcopy -i "$tmp/esp.img" "$boot" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp/esp.img" "$uki" ::/EFI/Linux/tiny.efi
mcopy -i "$tmp/esp.img" "$tmp/loader.conf" ::/loader/loader.conf
rm -f "$out"
truncate -s $(( (esp_mib + 2) * 1024 * 1024 )) "$out"
# Fixed GUIDs and FAT volume id: the same inputs give the same disk bytes.
printf 'label: gpt\nlabel-id: 6B0F4A4E-3C1D-4E5B-9A7E-B0075EA1D15C\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6B0F4A4E-3C1D-4E5B-9A7E-B0075EA1E5B0, name="ESP"\n' \
  $((esp_mib * 2048)) | sfdisk -q "$out"
dd if="$tmp/esp.img" of="$out" bs=1M seek=1 conv=notrunc status=none
