#!/bin/bash
# The tiny example, built with bootseal's own tools (uki build, keys generate, sign,
# disk assemble), boots under Secure Boot with keys enrolled directly into the OVMF
# variable store; an unsigned and a one-byte-modified UKI are refused by the firmware;
# systemd-boot auto-enrolls bootseal's .auth files from setup mode. PCR 11 read in the
# guest equals `bootseal pcr predict` (sections only: the busybox initrd runs no pcrphase).
set -euo pipefail
. "$SRC/tests/vm/lib.sh"
need_payloads
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/tiny_boot}; mkdir -p "$LOGDIR"
build_tiny "$T"
PRED=$(predict11 "$T/tiny.efi")
[[ $PRED =~ ^[0-9A-F]{64}$ ]] || { echo "bootseal pcr predict gave '$PRED'"; exit 1; }
# Signing does not change the measured sections.
[ "$(predict11 "$T/tiny-unsigned.efi")" = "$PRED" ] || { echo "signing changed the PCR 11 prediction"; exit 1; }
echo "PCR 11 predicted (sha256, no phase): $PRED"

# 1. Good boot: Secure Boot enforcing, lockdown, TPM PCRs, modules loaded, marker.
vm_boot good "$T/disk.img" --secure-boot --enroll "$T/keys" --tpm --timeout 240 \
  --expect TINY-BOOT-OK --fail-on "Access denied" --fail-on "Kernel panic"
L=$LOGDIR/good.serial.log
grep -aq "secureboot: Secure boot enabled" "$L" || { echo "Secure Boot not enabled in the guest"; exit 1; }
grep -aq "Kernel is locked down from EFI Secure Boot" "$L" || { echo "no lockdown"; exit 1; }
grep -aq "TINY: modules loaded: 11, failed: 0" "$L" || { echo "modules did not all load"; grep -a 'TINY:' "$L"; exit 1; }
grep -aqE "TINY: pcr-sha256 11: [0-9A-Fa-f]{64}" "$L" || { echo "no TPM PCR 11"; exit 1; }
P11=$(pcr11_of "$L")
echo "PCR 11 direct enrollment: $P11"
[ "$P11" = "$PRED" ] || { echo "PCR 11 $P11 != predicted $PRED"; exit 1; }
grep -aq "TINY: erofs available" "$L"

# 2. Unsigned UKI: systemd-boot's LoadImage is denied by the firmware's db check.
vm_boot unsigned "$T/disk-unsigned.img" --secure-boot --enroll "$T/keys" --timeout 240 \
  --expect "Access denied" --fail-on TINY-BOOT-OK
grep -aq 'Error loading.*tiny.efi.*Access denied' "$LOGDIR/unsigned.serial.log" || { echo "no refusal line"; exit 1; }

# 3. Signed, then one byte of .cmdline flipped: the Authenticode hash no longer matches.
python3 - "$T/tiny.efi" "$T/tiny-tampered.efi" <<'PY'
import sys, struct
d = bytearray(open(sys.argv[1], 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
nsec = struct.unpack_from('<H', d, pe + 6)[0]
opt = struct.unpack_from('<H', d, pe + 20)[0]
for i in range(nsec):
    s = pe + 24 + opt + 40 * i
    if d[s:s + 8].rstrip(b'\0') == b'.cmdline':
        off = struct.unpack_from('<I', d, s + 20)[0]
        d[off] ^= 0x01
        break
else:
    sys.exit("no .cmdline")
open(sys.argv[2], 'wb').write(d)
PY
if sbverify --cert "$T/keys/db.crt" "$T/tiny-tampered.efi" >/dev/null 2>&1; then echo "sbverify accepted the tampered UKI"; exit 1; fi
tiny_disk "$T/disk-tampered.img" "$T/sdboot.efi" "$T/tiny-tampered.efi"
vm_boot tampered "$T/disk-tampered.img" --secure-boot --enroll "$T/keys" --timeout 240 \
  --expect "Access denied" --fail-on TINY-BOOT-OK

# 4. Control: the same unsigned disk boots without Secure Boot (the refusal is Secure Boot's).
vm_boot control "$T/disk-unsigned.img" --timeout 240 --expect TINY-BOOT-OK --fail-on "Access denied"
grep -aq "secureboot: Secure boot disabled" "$LOGDIR/control.serial.log" || { echo "control: SB not disabled?"; exit 1; }

# 5. Auto-enrollment: empty variable store (setup mode: vm run --secure-boot without
#    --enroll starts from the empty OVMF_VARS_4M.fd), systemd-boot enrolls bootseal's
#    loader/keys/auto/{PK,KEK,db}.auth, resets (QEMU may reboot), then boots the signed UKI
#    under Secure Boot.
tiny_disk "$T/disk-auto.img" "$T/sdboot.efi" "$T/tiny.efi" "$T/keys"
vm_boot auto-enroll "$T/disk-auto.img" --secure-boot --tpm --timeout 300 \
  --expect TINY-BOOT-OK --fail-on "Access denied" --fail-on "Kernel panic"
L=$LOGDIR/auto-enroll.serial.log
grep -aq "Enrolling secure boot keys" "$L" || { echo "systemd-boot did not enroll keys"; exit 1; }
grep -aq "Custom Secure Boot keys successfully enrolled" "$L" || { echo "no enrollment success message"; exit 1; }
grep -aq "secureboot: Secure boot enabled" "$L" || { echo "Secure Boot not enabled after auto-enrollment"; exit 1; }
grep -aq "Kernel is locked down from EFI Secure Boot" "$L" || { echo "no lockdown after auto-enrollment"; exit 1; }
P11A=$(pcr11_of "$L")
echo "PCR 11 auto-enrolled: $P11A"
[ "$P11A" = "$PRED" ] || { echo "PCR 11 after auto-enrollment $P11A != predicted $PRED"; exit 1; }
# PCR 7 differs between the two enrollment paths (different variable contents).
p7a=$(grep -a "TINY: pcr-sha256 7:" "$LOGDIR/good.serial.log" | tr -d '\r' | awk '{print $NF}')
p7b=$(grep -a "TINY: pcr-sha256 7:" "$L" | tr -d '\r' | awk '{print $NF}')
echo "PCR 7: direct $p7a, auto-enrolled $p7b"
[ -n "$p7a" ] && [ -n "$p7b" ]
echo ok
