#!/bin/bash
# bootseal seal end to end (issue 16): a tiny OCI image (umoci) is sealed with
# bootseal's initrd and pushed to docker-registry 2.8.2 on loopback; a device
# repository pulls it back, `disk create --image-uki require` installs the UKI the
# image carries (no new UKI is built), and the disk boots under Secure Boot:
# setup-root measures the image against the UKI's composefs.digest=v1 karg and
# mounts it with verity=require.
set -euo pipefail
. "$SRC/tests/lib.sh"
. "$SRC/tests/vm/lib.sh"
need_payloads
need umoci docker-registry htpasswd curl python3
. "$SRC/tests/lib/sealed_root.sh"
. "$SRC/tests/lib/registry.sh"
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/seal_boot}; mkdir -p "$LOGDIR"
cd "$TMP"
export HOME=$TMP REGISTRY_AUTH_FILE=$TMP/no-auth.json
B() { "$BOOTSEAL" "$@"; }

mkroot r 1
cp -a "$PAY/kernel/lib/modules/$KVER/kernel/drivers/virtio" "r/usr/lib/modules/$KVER/kernel/drivers/"
depmod -b r/usr "$KVER"
mkdir -p r/{proc,sys,dev,run,tmp} r/usr/lib/bootc/kargs.d
cp /bin/busybox r/usr/bin/busybox
for a in sh cat echo grep sync poweroff mount; do ln -sf busybox "r/usr/bin/$a"; done
ln -s usr/bin r/bin; ln -s usr/bin r/sbin
printf 'kargs = ["bootseal.on-failure=halt"]\n' > r/usr/lib/bootc/kargs.d/10-test.toml
cat > r/usr/bin/init <<'INIT'
#!/bin/sh
export PATH=/usr/bin
echo "SEAL: cmdline $(cat /proc/cmdline)"
grep ' / overlay ' /proc/mounts | grep -q 'verity=require' && echo "SEAL: verity=require on /"
echo "SEAL: motd $(cat /etc/motd)"
sync
echo "SEAL-BOOT-OK"
poweroff -f
INIT
chmod 755 r/usr/bin/init
umoci init --layout lay >/dev/null
umoci new --image lay:1 >/dev/null
umoci config --image lay:1 --architecture amd64 --os linux >/dev/null
umoci insert --image lay:1 r / >/dev/null
B -q keys generate --dir keys --name "bootseal seal test"
V1=$(B -q image digest oci:lay:1)

start_registry plain
R=$REG_URL
B --json seal --tls-verify=false oci:lay:1 --keys keys --build-initrd --kargs-from-image \
  --require-karg bootseal.on-failure=halt -o docker://$R/sealed/tiny:1 > seal.json
python3 -c 'import json,sys; d=json.load(open("seal.json")); assert d["digest_v1"]==sys.argv[1], d' "$V1"

# The device side: pull by the registry reference, install the image's own UKI.
B -q repo init --repo dev >/dev/null
D=$(B -q image pull --repo dev --tls-verify=false docker://$R/sealed/tiny:1)
[ "$D" = "$V1" ] || { echo "pulled $D, sealed $V1"; exit 1; }
B --json disk create --repo dev --image "$D" --keys keys --image-uki require -o disk.raw > disk.json
python3 - "$V1" <<'PY'
import json, sys
d = json.load(open("disk.json"))
assert d["digest"] == sys.argv[1], d
assert ("composefs.digest=v1-sha512-12:" + sys.argv[1]) in d["cmdline"], d["cmdline"]
PY
sbverify --cert keys/db.crt disk.raw.uki.efi >/dev/null 2>&1 || { echo "sbverify rejects the installed UKI"; exit 1; }

vm_boot sealed disk.raw --secure-boot --enroll keys --timeout 300 \
  --expect SEAL-BOOT-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
L=$LOGDIR/sealed.serial.log
for w in "bootseal-setup-root: sealed root $V1 verified" "SEAL: verity=require on /" "SEAL: motd hello" \
         "secureboot: Secure boot enabled"; do
  grep -aq "$w" "$L" && pass || fail "serial log lacks: $w"
done
grep -a "SEAL: cmdline" "$L" | grep -q "composefs.digest=v1-sha512-12:$V1" && pass || fail "booted cmdline lacks the V1 digest"
grep -a "SEAL: cmdline" "$L" | grep -q "bootseal.on-failure=halt" && pass || fail "booted cmdline lacks the kargs.d karg"
finish
