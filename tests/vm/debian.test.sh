#!/usr/bin/env bash
# The Debian example end to end: build the OCI image, import, seal into a
# Secure Boot-signed disk, and boot it three times:
#   1. first boot: multi-user with no failed unit, the digest equal to
#      `bootseal image digest`, / an overlay with verity=require, /usr read-only,
#      /etc and /var writable, Secure Boot enabled;
#   2. second boot: /etc and /var persist (same machine-id, boot count 2);
#   3. after tampering with the root disk offline (one byte of an object flipped
#      in place; another object replaced by other content): reading those files
#      gives EIO in the booted system.
source "$SRC/tests/lib.sh"
. "$SRC/tests/vm/lib.sh"
need_payloads
need debootstrap umoci debugfs sfdisk
[ "$(id -u)" -eq 0 ] || { echo "SKIP: building the example needs root (debootstrap)"; exit 77; }
LOGDIR=${VM_LOGDIR:-$BUILD/vm-logs/debian}; mkdir -p "$LOGDIR"
W=$TMP
report() { sed -n '/BOOTSEAL-REPORT-BEGIN/,/BOOTSEAL-REPORT-END/p' "$LOGDIR/$1.serial.log" | sed 's/^.*bootseal-report\[[0-9]*\]: //' | tr -d '\r'; }
field() { report "$1" | sed -n "s/^$2: //p" | head -1; }

t0=$(date +%s)
# the image carries bootseal's .deb (tools/package from this build); one example build at a time (shared debootstrap cache)
with_lock /tmp/bootseal-debian.lock env BUILD_DIR="$BUILD" "$SRC/examples/debian/build-image.sh" "$W/oci" latest 2>&1 | tail -1
"$BOOTSEAL" -q repo init --repo "$W/repo" >/dev/null
"$BOOTSEAL" -q image import --repo "$W/repo" --ref debian "oci:$W/oci:latest" >/dev/null
digest=$("$BOOTSEAL" -q image digest "oci:$W/oci:latest")
check_eq "image digest of the OCI image == of the stored image" "$digest" "$("$BOOTSEAL" -q image digest --repo "$W/repo" debian)"
"$BOOTSEAL" -q keys generate --dir "$W/keys" >/dev/null
"$BOOTSEAL" -q disk create --repo "$W/repo" --image debian --keys "$W/keys" -o "$W/disk.raw" >/dev/null
"$BOOTSEAL" -q verify --cert "$W/keys/db.crt" "$W/disk.raw.uki.efi" >/dev/null && pass || fail "UKI signature"
check_eq "composefs digest in the UKI" "$digest" "$("$BOOTSEAL" --json uki inspect "$W/disk.raw.uki.efi" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("composefs_digest",""))')"
echo "built and sealed in $(( $(date +%s) - t0 )) s"

# boot NAME [END]: until the kernel powers off after the report (an orderly shutdown:
# systemd leaves the root's ext4 clean, so the next boot's mount replays no journal),
# or until the END marker.
boot() {
  vm_boot "$1" "$W/disk.raw" --smp 2 --secure-boot --enroll "$W/keys" --tpm --memory 1536 --timeout 600 \
    --expect "${2:-reboot: Power down}" --fail-on "Kernel panic" --fail-on "Access denied" --fail-on "bootseal-setup-root: FAILED"
}
# setup-root's time from its start to the exec of init (without a first-boot verity
# pass), printed with its steps. Asserted: the whole under 1 s, and its own work (all
# steps but find-root's GPT reads and the kernel's ext4 mount) within 150 ms: on this
# larger root the state/ lookups of etc-var and the image open are uncached ext4
# reads, 1-7 ms each under TCG on a loaded host (55-107 ms measured; the tiny
# example's budget is 100 ms; docs/vm.md, "Timing").
timing() {
  local line steps total own
  line=$(grep -a "bootseal-setup-root: sealed root" "$LOGDIR/$1.serial.log" | tr -d '\r' | tail -1)
  total=$(sed -n 's/.* in \([0-9.]*\) ms (start to exec of init without a verity pass.*/\1/p' <<<"$line")
  steps=$(grep -a "bootseal-setup-root: step times" "$LOGDIR/$1.serial.log" | tr -d '\r' | tail -1 | sed 's/.*(ms)://')
  own=$(tr ' ' '\n' <<<"$steps" | grep = | grep -v -e '^find-root=' -e '^mount-root=' -e '^verity-pass=' | cut -d= -f2 | awk '{ s += $1 } END { print s }')
  echo "setup-root $1: start to exec of init $total ms (without a verity pass); own work $own ms; steps (ms):$steps"
  [ -n "$total" ] && [ -n "$own" ] && awk -v o="$own" -v t="$total" 'BEGIN { exit !(o <= 150 && t < 1000) }' && pass \
    || fail "$1: setup-root took $total ms, own work $own ms"
}

# 1. First boot.
boot first || fail "first boot did not reach the report"
check_eq "first: state" "running" "$(field first 'system state')"
check_eq "first: failed units" "none" "$(field first 'failed units')"
check_eq "first: multi-user.target" "active" "$(field first 'multi-user.target')"
grep -aE "bootseal-setup-root: first boot: enabled fs-verity on [0-9]+ files \([0-9.]+ MB\) in [0-9.]+ s with 2 threads" "$LOGDIR/first.serial.log" | tr -d '\r' | grep . && pass || fail "first: no first-boot verity pass report (files, MB, threads)"
timing first
check_eq "first: booted digest" "$digest" "$(field first 'composefs digest')"
field first 'root mount' | grep -q '^overlay .*verity=require' && pass || fail "first: / is not overlay verity=require: $(field first 'root mount')"
check_eq "first: secure boot" "enabled" "$(field first 'secure boot')"
check_eq "first: /usr write" "refused (read-only)" "$(field first 'usr write')"
check_eq "first: /var write" "ok" "$(field first 'var write')"
check_eq "first: /etc write" "ok" "$(field first 'etc write')"
check_eq "first: verdict" "OK" "$(field first 'BOOTSEAL-VERDICT')"
grep -aq "Kernel is locked down from EFI Secure Boot" "$LOGDIR/first.serial.log" && pass || fail "first: no lockdown"
mid=$(field first 'machine-id')
[ -n "$mid" ] && pass || fail "first: empty machine-id"

# 2. Second boot: state persists.
boot second || fail "second boot did not reach the report"
check_eq "second: machine-id persists" "$mid" "$(field second 'machine-id')"
check_eq "second: boot count" "2" "$(field second 'boot count')"
check_eq "second: verdict" "OK" "$(field second 'BOOTSEAL-VERDICT')"
grep -aq "first boot: enabled fs-verity" "$LOGDIR/second.serial.log" && fail "second: the verity pass ran again" || pass
grep -aq "EXT4-fs (vda2): recovery complete" "$LOGDIR/second.serial.log" && fail "second: the root's journal was replayed (no orderly shutdown?)" || pass
timing second

# 3. Tamper with two objects on the root partition, offline.
start=$(sfdisk --json "$W/disk.raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')
off=$((start * 512))
dev="$W/disk.raw?offset=$off"
obj() { "$BOOTSEAL" composefs info dump "$W/repo/composefs/images/$digest" | awk -v p="$1" '$1 == p {print $9}'; }
inplace=$(obj /usr/share/bootseal/canary-inplace); replaced=$(obj /usr/share/bootseal/canary-replaced)
[ -n "$inplace" ] && [ -n "$replaced" ] || { fail "canary objects not found in the image"; finish; }
blk=$(debugfs -R "bmap /composefs/objects/$inplace 0" "$dev" 2>/dev/null)
[[ $blk =~ ^[0-9]+$ ]] || { fail "no block for the in-place canary"; finish; }
b=$(dd if="$W/disk.raw" bs=1 skip=$((off + blk * 4096 + 100)) count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 1) & 255 )))" | dd of="$W/disk.raw" bs=1 seek=$((off + blk * 4096 + 100)) conv=notrunc status=none
head -c 8192 /dev/urandom > "$W/other"
debugfs -w -R "rm /composefs/objects/$replaced" "$dev" >/dev/null 2>&1
debugfs -w -R "write $W/other /composefs/objects/$replaced" "$dev" >/dev/null 2>&1
# verify --deep predicts both refusals offline, on this disk, before the boot (issue 17).
set +e; "$BOOTSEAL" verify --deep --db "$W/keys/db.crt" "$W/disk.raw" > "$W/verify-tampered.out" 2>/dev/null; vrc=$?; set -e
check_eq "verify --deep of the tampered disk: exit" 1 "$vrc"
grep -E "^FAIL +root\.${digest:0:12}\.objects-deep " "$W/verify-tampered.out" | grep -F "object $inplace has fs-verity digest" >/dev/null && pass \
  || fail "verify --deep did not predict the in-place flip: $(grep objects "$W/verify-tampered.out")"
grep -E "^FAIL +root\.${digest:0:12}\.objects(-deep)? " "$W/verify-tampered.out" | grep -F "$replaced" >/dev/null && pass \
  || fail "verify did not predict the replaced object: $(grep objects "$W/verify-tampered.out")"
boot tampered BOOTSEAL-REPORT-END || fail "tampered boot did not reach the report"
field tampered 'read canary-inplace' | grep -q 'Input/output error' && pass || fail "in-place flip was not caught: $(field tampered 'read canary-inplace')"
field tampered 'read canary-replaced' | grep -q 'Input/output error' && pass || fail "replaced object was not caught: $(field tampered 'read canary-replaced')"
grep -aE "FILE CORRUPTED|wrong fs-verity digest|has no fs-verity digest" "$LOGDIR/tampered.serial.log" | head -3
finish
