#!/bin/bash
# Issue 17: the first boot refuses a tampered disk by name. A disk `disk create`
# wrote, with one byte of an object (the image's busybox) flipped before its first
# boot: `bootseal verify --deep` predicts the refusal offline (naming the object and
# /usr/bin/busybox), and the boot stops in setup-root's first-boot pass with one line
# naming the same object and path, before switching root. The untampered disk boots.
set -euo pipefail
. "$SRC/tests/vm/lib.sh"
need_payloads
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/tampered_object_boot}; mkdir -p "$LOGDIR"
. "$SRC/tests/lib/sealed_root.sh"
cd "$T"
B() { "$BOOTSEAL" "$@"; }

mkroot v1 1
r=v1
cp -a "$PAY/kernel/lib/modules/$KVER/kernel/drivers/virtio" "$r/usr/lib/modules/$KVER/kernel/drivers/"
depmod -b "$r/usr" "$KVER"
mkdir -p "$r"/{proc,sys,dev,run,tmp}
cp /bin/busybox "$r/usr/bin/busybox"
for a in sh cat echo grep sync poweroff; do ln -sf busybox "$r/usr/bin/$a"; done
ln -s usr/bin "$r/bin"; ln -s usr/bin "$r/sbin"
printf '#!/bin/sh\nexport PATH=/usr/bin\necho TAMPER-BOOT-OK\nsync\npoweroff -f\n' > "$r/usr/bin/init"
chmod 755 "$r/usr/bin/init"

B -q keys generate --dir keys --name "bootseal tampered-object test"
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$T/v1" >/dev/null 2>&1
B -q disk create --repo repo --image v1 --keys keys -o good.raw --work-dir w --keep-work >/dev/null

# The object holding busybox, one byte flipped in the middle (same size: only hashing sees it).
obj=
for f in w/root/composefs/objects/*/*; do cmp -s "$f" /bin/busybox && { obj=${f#w/root/composefs/objects/}; break; }; done
[ -n "$obj" ] || { echo "no object holds busybox"; exit 1; }
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "w/root/composefs/objects/$obj"
B -q disk assemble --esp w/esp --root w/root -o tampered.raw

# verify predicts it: the shallow check passes (the object is there, with its size), --deep fails by name.
B verify tampered.raw > shallow.out || { echo "verify without --deep failed:"; cat shallow.out; exit 1; }
rc=0; B verify --deep tampered.raw > deep.out 2>&1 || rc=$?
[ $rc = 1 ] || { echo "verify --deep exit $rc"; cat deep.out; exit 1; }
grep -E "^FAIL +root\.[0-9a-f]{12}\.objects-deep .*object $obj .*used by /usr/bin/busybox" deep.out \
  || { echo "verify --deep did not name the object:"; cat deep.out; exit 1; }
B verify --deep good.raw > good.out || { echo "verify --deep of the good disk:"; cat good.out; exit 1; }

# The boot: setup-root refuses before switching root, naming the object and its user.
vm_boot tampered tampered.raw --secure-boot --enroll keys --timeout 240 \
  --expect "refusing to switch root" --fail-on TAMPER-BOOT-OK --fail-on "Kernel panic"
L=$LOGDIR/tampered.serial.log
grep -aq "object composefs/objects/$obj measures fs-verity digest" "$L" || { echo "no refusal naming $obj"; grep -a setup-root "$L"; exit 1; }
grep -aq "used by /usr/bin/busybox" "$L" || { echo "refusal does not name /usr/bin/busybox"; exit 1; }
# Control: the same disk untampered boots.
vm_boot good good.raw --secure-boot --enroll keys --timeout 240 \
  --expect TAMPER-BOOT-OK --fail-on "bootseal-setup-root: FAILED" --fail-on "Kernel panic"
echo ok
