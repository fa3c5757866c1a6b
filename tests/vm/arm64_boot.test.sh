#!/bin/bash
# The tiny example sealed for arm64 on this x86-64 host, end to end by `disk create`:
# a SHA-512 composefs repository of a busybox root (busybox-static:arm64, Debian's
# cloud-arm64 6.12 kernel and modules), the arm64 UKI on linuxaa64.efi.stub signed
# with our db key, the cross-compiled bootseal-setup-root, an ESP with
# EFI/BOOT/BOOTAA64.EFI and the arm64 root partition type; booted by `vm run`
# (architecture detected from the disk) on qemu-system-aarch64 -M virt with AAVMF,
# our keys enrolled, Secure Boot enforcing, swtpm on tpm-tis-device.
#  1. good boot: the guest reports the composefs digest, / overlay with
#     verity=require, Secure Boot enabled, lockdown, PCR 11 = `bootseal pcr predict`;
#  2. a one-byte-tampered UKI is refused by the firmware;
#  3. an image whose fs-verity digest is not the UKI's is refused by setup-root;
#  4. after the first boot enabled fs-verity, one byte of an object's data flipped
#     offline on the disk: the boot comes up and reading that file is an I/O error.
#     This boot starts in setup mode (AAVMF_VARS.ms.fd with every variable deleted, no
#     keys): systemd-boot enrolls the ESP's loader/keys/auto (disk create's
#     "secure-boot-enroll if-safe"), resets, and the UKI boots with Secure Boot on.
#  `bootseal verify` predicts each outcome offline on the disk that boots (issue 17):
#  all PASS on the good disk, the UKI's signature link for 2, the root image's digest
#  link for 3, and with --deep the flipped object by name for 4.
set -euo pipefail
. "$SRC/tests/vm/lib.sh"
A=$PAY/arm64
K=$A/kernel
for f in "$K/vmlinuz" "$A/sdboot/usr/lib/systemd/boot/efi/systemd-bootaa64.efi" "$A/busybox/bin/busybox"; do
  [ -e "$f" ] || { echo "missing arm64 payload $f: run tools/fetch-payloads"; exit 1; }
done
for t in qemu-system-aarch64 swtpm virt-fw-vars mkfs.vfat mke2fs xz depmod debugfs sfdisk; do
  command -v $t >/dev/null || { echo "missing tool $t: run tools/setup"; exit 1; }
done
[ -f /usr/share/AAVMF/AAVMF_CODE.fd ] || { echo "missing AAVMF (qemu-efi-aarch64): run tools/setup"; exit 1; }
SR=$BUILD/aarch64/bootseal-setup-root
[ -x "$SR" ] || { echo "missing $SR: tools/build cross-compiles it (needs g++-aarch64-linux-gnu: tools/setup)"; exit 1; }
T=${KEEP_T:-$(mktemp -d)}; [ -n "${KEEP_T:-}" ] || trap 'rm -rf "$T"' EXIT
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/arm64_boot}; mkdir -p "$LOGDIR"
cd "$T"
B() { "$BOOTSEAL" "$@"; }
KVER=$(cat "$K/kver")

# mk DIR VERSION: an arm64 busybox root with the kernel, the initrd's modules and a reporting init.
mk() {
  local r=$1 m=$1/usr/lib/modules/$KVER km=$K/lib/modules/$KVER/kernel
  mkdir -p "$r"/{etc,var,boot,sysroot,proc,sys,dev,run,tmp,usr/bin,usr/share/bootseal} "$m/kernel/drivers/char"
  printf 'ID=tiny\nVERSION_ID=%s\nPRETTY_NAME="tiny arm64 %s"\n' "$2" "$2" > "$r/usr/lib/os-release"
  cp "$K/vmlinuz" "$m/vmlinuz"
  for d in fs lib crypto arch; do [ -d "$km/$d" ] && cp -a "$km/$d" "$m/kernel/"; done
  cp -a "$km/drivers/block" "$km/drivers/virtio" "$m/kernel/drivers/" 2>/dev/null || cp -a "$km/drivers/block" "$m/kernel/drivers/"
  cp -a "$km/drivers/char/tpm" "$m/kernel/drivers/char/"
  cp "$K/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$m/"
  depmod -b "$r/usr" "$KVER"
  # The root's init loads the TPM driver by path: busybox insmod takes no .ko.xz.
  mkdir -p "$r/usr/lib/tpm"
  for k in tpm_tis_core tpm_tis; do xz -dc "$(find "$m" -name "$k.ko.xz")" > "$r/usr/lib/tpm/$k.ko"; done
  cp "$A/busybox/bin/busybox" "$r/usr/bin/busybox"
  for a in sh cat echo grep sed sync poweroff mount insmod tr; do ln -sf busybox "$r/usr/bin/$a"; done
  ln -s usr/bin "$r/bin"; ln -s usr/bin "$r/sbin"; ln -s usr/lib "$r/lib"
  printf 'hello from a sealed arm64 object\n' > "$r/usr/share/bootseal/hello.txt"
  # Large enough to be an object (small files are inlined in the EROFS image).
  for i in $(seq 400); do echo "this object will be replaced on the disk $i"; done > "$r/usr/share/bootseal/victim.txt"
  cat > "$r/usr/bin/init" <<'INIT'
#!/bin/sh
export PATH=/usr/bin
echo "A64: cmdline $(cat /proc/cmdline)"
grep ' / overlay ' /proc/mounts | grep -q 'verity=require' && echo "A64: verity=require on /"
echo "A64: hello $(cat /usr/share/bootseal/hello.txt)"
cat /usr/share/bootseal/victim.txt >/dev/null 2>/run/victim.err && echo "A64: victim READ OK" || echo "A64: victim: $(cat /run/victim.err)"
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
[ -e /sys/kernel/security/lockdown ] || mount -t securityfs securityfs /sys/kernel/security
echo "A64: lockdown $(cat /sys/kernel/security/lockdown)"
insmod /usr/lib/tpm/tpm_tis_core.ko; insmod /usr/lib/tpm/tpm_tis.ko
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/tpm/tpm0/pcr-sha256/11 ] && break; sleep 0.5; done
echo "A64: pcr-sha256 11: $(cat /sys/class/tpm/tpm0/pcr-sha256/11)"
sync
echo "A64-BOOT-OK"
poweroff -f
INIT
  chmod 755 "$r/usr/bin/init"
}
mk v1 1
mk v2 2

B -q keys generate --dir keys --name "bootseal arm64 test"
B -q repo init --repo repo >/dev/null          # SHA-512
B -q image import --repo repo --ref v1 "dir:$T/v1" >/dev/null 2>&1
B -q image import --repo repo --ref v2 "dir:$T/v2" >/dev/null 2>&1
D=$(B -q image digest --repo repo v1)
D2=$(B -q image digest --repo repo v2)
B --json disk create --repo repo --image v1 --keys keys -o disk.raw --work-dir w --keep-work > create.json
/usr/bin/python3 - create.json "$D" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["arch"] == "arm64", j
assert j["digest"] == sys.argv[2], j
assert "console=ttyAMA0" in j["cmdline"] and "no_timer_check" not in j["cmdline"], j
assert j["esp_bytes"] >= 128 << 20, j
PY
[ -f w/esp/EFI/BOOT/BOOTAA64.EFI ] && [ -f w/esp/EFI/systemd/systemd-bootaa64.efi ] || { echo "no arm64 loader on the ESP"; exit 1; }
sfdisk -d disk.raw | grep -qi 'type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE' || { sfdisk -d disk.raw; echo "no arm64 root partition type"; exit 1; }
PRED=$(predict11 disk.raw.uki.efi)
[[ $PRED =~ ^[0-9A-F]{64}$ ]] || { echo "bootseal pcr predict gave '$PRED'"; exit 1; }

# predict NAME DISK LINK-REGEX [verify options]: verify exits 1 with LINK as a FAIL line.
predict() {
  local n=$1 d=$2 link=$3 rc=0; shift 3
  B verify --db keys/db.crt "$@" "$d" > "$LOGDIR/$n.verify" 2>&1 || rc=$?
  [ $rc = 1 ] || { echo "verify $d: exit $rc, not 1"; cat "$LOGDIR/$n.verify"; exit 1; }
  grep -Eq "^FAIL +$link" "$LOGDIR/$n.verify" || { echo "verify $d did not predict the refusal ($link):"; cat "$LOGDIR/$n.verify"; exit 1; }
}
B verify --db keys/db.crt --arch arm64 disk.raw > "$LOGDIR/good.verify" 2>&1 \
  || { echo "verify of the good arm64 disk:"; cat "$LOGDIR/good.verify"; exit 1; }
UKINAME=$(basename w/esp/EFI/Linux/bootc/*.efi)

boot() { local n=$1 d=$2; shift 2
  vm_boot "$n" "$d" --secure-boot --enroll keys --timeout 240 --no-reboot "$@"; }
check() { grep -aq -- "$2" "$LOGDIR/$1.serial.log" || { echo "$1: missing '$2'"; exit 1; }; }

# 1. good boot
boot good disk.raw --tpm --expect A64-BOOT-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic" \
  --fail-on "Access denied"
check good "A64: cmdline composefs=$D"
check good "bootseal-setup-root: sealed root $D verified"
check good "A64: verity=require on /"
check good "A64: hello hello from a sealed arm64 object"
check good "A64: victim READ OK"
check good "secureboot: Secure boot enabled"
check good "Kernel is locked down from EFI Secure Boot"
check good "A64: lockdown .*\[integrity\]"
P11=$(grep -a "A64: pcr-sha256 11:" "$LOGDIR/good.serial.log" | tr -d '\r' | awk '{print toupper($NF)}' | head -1)
echo "PCR 11 guest $P11, predicted $PRED"
[ "$P11" = "$PRED" ] || { echo "PCR 11 $P11 != predicted $PRED"; exit 1; }

# 2. one byte of the signed UKI's .cmdline flipped: the firmware refuses it
U=$(ls w/esp/EFI/Linux/bootc/*.efi)
/usr/bin/python3 - "$U" <<'PY'
import sys, struct
p = sys.argv[1]; d = bytearray(open(p, 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]; n = struct.unpack_from('<H', d, pe + 6)[0]; o = struct.unpack_from('<H', d, pe + 20)[0]
for i in range(n):
    s = pe + 24 + o + 40 * i
    if d[s:s + 8].rstrip(b'\0') == b'.cmdline':
        d[struct.unpack_from('<I', d, s + 20)[0] + 2] ^= 1; break
else: sys.exit("no .cmdline")
open(p, 'wb').write(d)
PY
B -q disk assemble --esp w/esp --root w/root -o tampered.raw --esp-size 128M --arch arm64
cp disk.raw.uki.efi "$U"
predict tampered tampered.raw "uki\.${UKINAME//./\\.}\.signature "
boot tampered tampered.raw --expect "Access denied" --fail-on A64-BOOT-OK --fail-on "bootseal-setup-root"
check tampered "Access denied"

# 3. the image file named by the UKI's digest holds another image: setup-root refuses it
cp "repo/composefs/images/$D2" "w/root/composefs/images/$D"
B -q disk assemble --esp w/esp --root w/root -o wrong.raw --esp-size 128M
predict wrong wrong.raw "root\.${D:0:12}\.image-digest "
sfdisk -d wrong.raw | grep -qi 'type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE' || { echo "disk assemble: no arm64 root type"; exit 1; }
boot wrong wrong.raw --expect "FAILED at verify image" --fail-on A64-BOOT-OK --fail-on "Access denied" \
  --fail-on "FAILED at find"
check wrong "bootseal-setup-root: FAILED at verify image"

# 4. The good boot enabled fs-verity on every object (and synced). Flip one data byte of
# victim.txt's object in place on disk.raw's root partition: the second boot skips the
# first-boot pass (the image has fs-verity), and the kernel's verity check on the read
# makes it an I/O error, while the rest of the root still works.
grep -aq "bootseal-setup-root: first boot: enabled fs-verity" "$LOGDIR/good.serial.log" || { echo "good: no first-boot verity pass"; exit 1; }
start=$(sfdisk --json disk.raw | /usr/bin/python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["partitiontable"]["partitions"] if p["type"].upper() == "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"][0]["start"])')
off=$((start * 512))
obj=$(B composefs info dump "repo/composefs/images/$D" | awk '$1 == "/usr/share/bootseal/victim.txt" {print $9}')
[ -n "$obj" ] || { echo "victim.txt is no object in the image"; exit 1; }
blk=$(debugfs -R "bmap /composefs/objects/$obj 0" "disk.raw?offset=$off" 2>/dev/null)
[[ $blk =~ ^[0-9]+$ ]] && [ "$blk" -gt 0 ] || { echo "no block for object $obj: '$blk'"; exit 1; }
at=$((off + blk * 4096 + 100))
b=$(dd if=disk.raw bs=1 skip=$at count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 1) & 255 )))" | dd of=disk.raw bs=1 seek=$at conv=notrunc status=none
[ "$(dd if=disk.raw bs=1 skip=$at count=1 status=none | od -An -tu1 | tr -d ' ')" = $(( (b ^ 1) & 255 )) ] || { echo "the byte flip did not land"; exit 1; }
names=$(virt-fw-vars -i /usr/share/AAVMF/AAVMF_VARS.ms.fd -p 2>/dev/null | awk -F'[ :]' '/^[A-Za-z]/ {print $1}')
dels=(); for n in $names; do dels+=(-d "$n"); done
[ ${#dels[@]} -gt 5 ] || { echo "could not list AAVMF_VARS.ms.fd's variables"; exit 1; }
printf '%s' '{ "version": 2, "variables": [ { "name": "Timeout", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "attr": 7, "data": "0000" } ] }' > timeout.json
virt-fw-vars -l warning -i /usr/share/AAVMF/AAVMF_VARS.ms.fd -o setup-mode.fd "${dels[@]}" --set-json timeout.json
virt-fw-vars -i setup-mode.fd -p 2>/dev/null | grep -qE '^(PK|KEK|db) ' && { echo "setup-mode.fd still has keys"; exit 1; }
# Offline: the shallow verify still passes (every object is there, with its size), --deep names it.
B verify --db keys/db.crt disk.raw > "$LOGDIR/eio-shallow.verify" 2>&1 \
  || { echo "verify without --deep of the flipped disk:"; cat "$LOGDIR/eio-shallow.verify"; exit 1; }
predict eio disk.raw "root\.${D:0:12}\.objects-deep .*${obj}" --deep
vm_boot eio disk.raw --secure-boot --vars setup-mode.fd --timeout 300 --expect A64-BOOT-OK \
  --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic" --fail-on "Access denied"
check eio "Enrolling secure boot keys from directory: .loader.keys.auto"
check eio "Custom Secure Boot keys successfully enrolled"
check eio "secureboot: Secure boot enabled"
check eio "bootseal-setup-root: sealed root $D verified"
check eio "A64: hello hello from a sealed arm64 object"
grep -aq "first boot: enabled fs-verity" "$LOGDIR/eio.serial.log" && { echo "eio: the verity pass ran again"; exit 1; }
check eio "A64: victim: .*Input/output error"
grep -aE "FILE CORRUPTED|verity|Input/output" "$LOGDIR/eio.serial.log" | tr -d '\r' | grep -v "A64: cmdline" | head -4
echo ok
