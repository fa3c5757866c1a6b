#!/usr/bin/env bash
# The life cycle *inside* a booted sealed Debian (issue 15): the example image
# carries bootseal (its .deb), the guest has no network and gets the updates as
# oci-archives on a second virtio disk (ext4, label bootseal-upd) together with
# session.sh, which bootseal-session.service (added to the test's v1 image) runs
# on every boot; results go back on that disk (out/) and to the console. One
# QEMU run, five boots, no human:
#   1. v1: `bootseal status` shows booted v1; `switch` to an update whose UKI is
#      signed by a key not in db is refused with nothing changed; `switch
#      oci-archive:/mnt/update/v2.tar` stages v2 (status: staged); /etc edited
#      after staging; reboot (bootseal-finalize-staged.service finalizes at shutdown);
#   2. v2 boots with the /etc edit; status: booted v2, rollback v1; the boot
#      entry was blessed (systemd-bless-boot); `bootseal rollback`; reboot;
#   3. v1 boots; `switch --boot-tries 1` to v3, whose health check fails (a unit
#      listed in /etc/bootseal/health-units is broken); reboot;
#   4. v3 boots once (systemd-boot counts the Type #1 entry down: +0-1), the
#      health check fails, nothing blesses it; reboot;
#   5. systemd-boot skips the used-up entry and boots v1 by itself; status says
#      v3 failed.
# Images, disk and update disk are cached in $BUILD/vm-cache/lifecycle_guest,
# keyed on every input (bootseal's binaries, the example, packaging, this test).
# Locks: /tmp/bootseal-debian.lock around build-image.sh, /tmp/bootseal-vm.lock
# around the boots (taken here; see with_lock in tests/vm/lib.sh).
source "$SRC/tests/lib.sh"
. "$SRC/tests/vm/lib.sh"
need_payloads
need debootstrap umoci skopeo debugfs mke2fs flock dpkg-deb objcopy tar
[ "$(id -u)" -eq 0 ] || skip "building the example needs root (debootstrap)"
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/lifecycle_guest}; mkdir -p "$LOGDIR"
G=$SRC/tests/vm/lifecycle_guest
B() { "$BOOTSEAL" "$@"; }
SETUP_ROOT=$(dirname "$BOOTSEAL")/../initramfs/bootseal-setup-root
key=$( (sha256sum "$BOOTSEAL" "$SETUP_ROOT" "$0" "$G"/* "$SRC"/examples/debian/* "$SRC"/tools/package \
        "$SRC/tests/vm/lib.sh" "$PAY/kernel/kver" "$SDBOOT" "$STUB"; find "$SRC/packaging" -type f -exec sha256sum {} + | sort) |
      awk '{print $1}' | sha256sum | cut -c1-16)
CACHE_ROOT=$BUILD/vm-cache/lifecycle_guest
C=$CACHE_ROOT/$key
t0=$(date +%s)

build_all() {
  rm -rf "$CACHE_ROOT"; mkdir -p "$C"
  local W=$C/work L=$C/work/oci R=$C/work/bundle/rootfs deb
  mkdir -p "$W"
  deb=$(BUILD_DIR=$BUILD "$SRC/tools/package" -o "$W/deb")
  with_lock /tmp/bootseal-debian.lock env BOOTSEAL_DEB="$deb" "$SRC/examples/debian/build-image.sh" "$L" latest 2>&1 | tail -2
  umoci unpack --image "$L:latest" "$W/bundle" >/dev/null
  label() { umoci config --image "$L:$1" --config.label "org.opencontainers.image.version=$2" >/dev/null; }
  # v1: the example plus the session unit; the report's power-off masked
  install -m 0755 "$G/bootseal-session" "$R/usr/libexec/bootseal-session"
  install -m 0644 "$G/bootseal-session.service" "$R/etc/systemd/system/bootseal-session.service"
  ln -sf ../bootseal-session.service "$R/etc/systemd/system/multi-user.target.wants/bootseal-session.service"
  ln -sf /dev/null "$R/etc/systemd/system/bootseal-report.service"
  rm -f "$R/etc/systemd/system/multi-user.target.wants/bootseal-report.service"
  echo 1 > "$R/usr/share/bootseal/version"
  mkdir -p "$R/mnt/update"   # / is read-only: the mount point is part of the image
  umoci repack --refresh-bundle --image "$L:v1" "$W/bundle" >/dev/null; label v1 1
  # v2: another /usr and /etc
  echo 2 > "$R/usr/share/bootseal/version"; echo "motd of v2" > "$R/etc/motd"
  umoci repack --refresh-bundle --image "$L:v2" "$W/bundle" >/dev/null; label v2 2
  # v3: a unit the health check requires, broken
  echo 3 > "$R/usr/share/bootseal/version"
  install -m 0644 "$G/bootseal-needed.service" "$R/etc/systemd/system/bootseal-needed.service"
  ln -sf ../bootseal-needed.service "$R/etc/systemd/system/multi-user.target.wants/bootseal-needed.service"
  mkdir -p "$R/etc/bootseal"; echo bootseal-needed.service > "$R/etc/bootseal/health-units"
  umoci repack --refresh-bundle --image "$L:v3" "$W/bundle" >/dev/null; label v3 3

  B -q keys generate --dir "$C/keys" --name "bootseal lifecycle guest" >/dev/null
  B -q keys generate --dir "$W/other-keys" --name "not in db" >/dev/null
  B -q repo init --repo "$W/repo" >/dev/null
  for v in v1 v2 v3; do
    B -q image import --repo "$W/repo" --ref $v "oci:$L:$v" >/dev/null
    B -q image digest --repo "$W/repo" $v > "$C/$v.digest"
  done
  # The machine: v1, room for three Debian UKIs on the ESP and two more images on the root.
  B -q disk create --repo "$W/repo" --image v1 --keys "$C/keys" -o "$C/disk.raw" --esp-size 192M --size 2G >/dev/null
  # The updates carry their signed UKI in /boot/EFI/Linux (outside the digest: the boot
  # transform empties /boot), as bootc's sealed images do: one more layer holding only
  # boot/EFI/Linux/<uki> (not /boot itself, whose metadata is part of the digest). The
  # UKI is v1's (`disk create`) with the digest changed: same kernel, initrd and cmdline.
  cp "$R/usr/lib/os-release" "$W/os-release"
  objcopy --dump-section .initrd="$W/initrd.img" "$C/disk.raw.uki.efi" "$W/scratch.efi"
  local rest
  rest=$(B --json uki inspect "$C/disk.raw.uki.efi" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cmdline"])' |
         sed "s/^composefs=$(cat "$C/v1.digest") //")
  carry() {  # carry TAG FROM KEYS: TAG = FROM + a layer with FROM's UKI, signed with KEYS' db key
    local d l=$W/l-$1
    d=$(cat "$C/$2.digest")
    mkdir -p "$l/boot/EFI/Linux"
    B -q uki build --stub "$STUB" --linux "$PAY/kernel/boot/vmlinuz-$(cat "$PAY/kernel/kver")" --initrd "$W/initrd.img" \
      --cmdline "composefs=$d $rest" --os-release "@$W/os-release" --sign-key "$3/db.key" --sign-cert "$3/db.crt" \
      -o "$l/boot/EFI/Linux/bootseal-$2.efi" >/dev/null
    tar -C "$l" --no-recursion --numeric-owner --owner=0 --group=0 -cf "$l.tar" boot/EFI boot/EFI/Linux "boot/EFI/Linux/bootseal-$2.efi"
    umoci raw add-layer --image "$L:$2" --tag "$1" "$l.tar" >/dev/null
    label "$1" "${2#v}"
    rm -rf "$l" "$l.tar"
    check_eq "$1 carries its UKI outside the digest" "$d" "$(B -q image digest "oci:$L:$1")"
  }
  mkdir -p "$C/upd/out"
  carry v2s v2 "$C/keys"; carry v3s v3 "$C/keys"; carry bad v3 "$W/other-keys"
  skopeo copy -q "oci:$L:v2s" "oci-archive:$C/upd/v2.tar"
  skopeo copy -q "oci:$L:v3s" "oci-archive:$C/upd/v3.tar"
  skopeo copy -q "oci:$L:bad" "oci-archive:$C/upd/untrusted.tar"
  install -m 0755 "$G/session.sh" "$C/upd/session.sh"
  local mb=$(( $(du -sm "$C/upd" | cut -f1) + 64 ))
  mke2fs -q -t ext4 -L bootseal-upd -d "$C/upd" "$C/upd.img" "${mb}M"
  rm -rf "$W" "$C/upd"
  touch "$C/.done"
}
if [ -f "$C/.done" ]; then echo "cached: $C"; else build_all; fi
echo "built in $(( $(date +%s) - t0 )) s"
D1=$(cat "$C/v1.digest"); D2=$(cat "$C/v2.digest"); D3=$(cat "$C/v3.digest")

cp --sparse=always "$C/disk.raw" "$TMP/disk.raw"
cp --sparse=always "$C/upd.img" "$TMP/upd.img"
rc=0
with_lock /tmp/bootseal-vm.lock bash -c '. "$SRC/tests/vm/lib.sh"; LOGDIR=$1; shift; vm_boot "$@"' _ "$LOGDIR" session \
  "$TMP/disk.raw" --extra-disk "$TMP/upd.img" --secure-boot --enroll "$C/keys" --tpm --memory 1536 --smp 2 --timeout 2700 \
  --expect "reboot: Power down" --fail-on "Kernel panic" --fail-on "Access denied" --fail-on "bootseal-setup-root: FAILED" \
  --fail-on "SESSION-ABORT" > "$LOGDIR/vm.out" 2>&1 || rc=$?
tail -1 "$LOGDIR/vm.out"
LOG=$LOGDIR/session.serial.log
tr -d '\r' < "$LOG" | grep -a "SESSION\[[0-9]*\]: " | sed 's/^.*\(SESSION\[\)/\1/' > "$LOGDIR/session.lines" || true
cat "$LOGDIR/session.lines"
[ $rc -eq 0 ] && pass || fail "the session did not end with a power-off (exit $rc; serial log $LOG)"
O=$LOGDIR/out; rm -rf "$O"
debugfs -R "rdump /out $LOGDIR" "$TMP/upd.img" >/dev/null 2>&1
[ -d "$O" ] || { fail "no out/ on the update disk"; finish; exit 1; }
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@" 2>/dev/null; }
ver() { jq_ "$O/$1-$2.out" "d['status']['$3']['composefs']['verity'] if d['status'].get('$3') else None"; }
booted() { sed -n "s/^SESSION\[$1\]: cmdline: .*composefs=\([0-9a-f]*\).*/\1/p" "$LOGDIR/session.lines" | head -1; }

# 1. v1
check_eq "boot 1 booted v1" "$D1" "$(booted 1)"
check_eq "boot 1: status exits 0" 0 "$(cat "$O/1-status.rc")"
check_eq "boot 1: status.booted is v1" "$D1" "$(ver 1 status-json booted)"
check_eq "boot 1: booted version (OCI label)" "1" "$(jq_ "$O/1-status-json.out" "d['status']['booted']['image']['version']")"
grep -q "^● Booted image: " "$O/1-status.out" && pass || fail "boot 1: human status: $(cat "$O/1-status.out")"
check_eq "boot 1: ESP found on its own" "True" "$(jq_ "$O/1-status-json.out" "bool(d['bootseal']['esp'])")"
[ "$(cat "$O/1-untrusted.rc")" != 0 ] && pass || fail "boot 1: the untrusted update was accepted"
cat "$O/1-untrusted.err" >&2; grep -qi "db" "$O/1-untrusted.err" && pass || fail "boot 1: untrusted refusal does not name db: $(cat "$O/1-untrusted.err")"
cmp -s "$O/1-before-untrusted.snap" "$O/1-after-untrusted.snap" && pass ||
  fail "boot 1: the refused update changed the ESP or state: $(diff "$O/1-before-untrusted.snap" "$O/1-after-untrusted.snap" | head)"
check_eq "boot 1: switch v2 exits 0" 0 "$(cat "$O/1-switch.rc")"
check_eq "boot 1: status.staged is v2" "$D2" "$(ver 1 status-staged staged)"
check_eq "boot 1: still booted v1" "$D1" "$(ver 1 status-staged booted)"
# 2. v2, finalized at shutdown
check_eq "boot 2 booted v2" "$D2" "$(booted 2)"
tr -d '\r' < "$LOG" | grep -a "Stopped.*bootseal-finalize.*deployment at shutdown" >/dev/null && pass || fail "no finalize at shutdown on the console"
check_eq "boot 2: the /etc edit made after staging is kept" "edited after staging" "$(cat "$O/2-edit.out")"
check_eq "boot 2: status.booted is v2" "$D2" "$(ver 2 status-json booted)"
check_eq "boot 2: status.rollback is v1" "$D1" "$(ver 2 status-json rollback)"
check_eq "boot 2: nothing staged" "None" "$(ver 2 status-json staged)"
check_eq "boot 2: health check" "active" "$(cat "$O/2-health.out")"
grep -q -- "-0+" "$O/2-entries-start.out" && fail "boot 2: the v2 entry was not blessed: $(cat "$O/2-entries-start.out")" || pass
check_eq "boot 2: rollback exits 0" 0 "$(cat "$O/2-rollback.rc")"
# 3. v1 after the rollback
check_eq "boot 3 booted v1 (rollback)" "$D1" "$(booted 3)"
check_eq "boot 3: switch v3 exits 0" 0 "$(cat "$O/3-switch3.rc")"
# 4. v3: tried once, not blessed
check_eq "boot 4 booted v3" "$D3" "$(booted 4)"
check_eq "boot 4: health check" "failed" "$(cat "$O/4-health.out")"
grep -q -- "-0+0-1.conf" "$O/4-entries-start.out" && pass || fail "boot 4: v3's entry is not counted down to +0-1: $(cat "$O/4-entries-start.out")"
# 5. back on v1 by itself
check_eq "boot 5 booted v1 (automatic fallback)" "$D1" "$(booted 5)"
check_eq "boot 5: status.booted is v1" "$D1" "$(ver 5 status-json booted)"
check_eq "boot 5: v3 shown failed" "True" "$(jq_ "$O/5-status-json.out" "any(e and e['composefs']['verity'] == '$D3' and (e['bootseal'].get('bootCounting') or {}).get('failed') for e in [d['status'].get(k) for k in ('booted','rollback','staged')] + d['status'].get('otherDeployments', []))")"
grep -q "failed" "$O/5-status.out" && pass || fail "boot 5: human status does not say v3 failed: $(cat "$O/5-status.out")"
echo "whole test: $(( $(date +%s) - t0 )) s"
finish
