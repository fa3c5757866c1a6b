#!/usr/bin/env bash
# Crash safety of the life cycle (issue 15): `switch` (staging), `finalize`,
# `rollback` and `gc` are killed with SIGKILL at the Nth call of each
# state-changing system call (strace fault injection: rename*, fsync,
# fdatasync, unlink*, mkdir*, symlink*, write), at least 50 points in all.
# After every kill the sysroot must boot the old or the new deployment, never
# neither: the entry systemd-boot would boot names a UKI that is on the ESP,
# an image in the repository and a state directory; and running the command
# again (the repair) must succeed and leave `status` clean.
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox strace
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
B() { "$BOOTSEAL" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

mkroot v1 1
cp -a v1 v2; printf 'ID=tiny\nVERSION_ID=2\n' > v2/usr/lib/os-release; echo "app v2" > v2/usr/bin/app
# a smaller kernel-module set keeps the copies per point cheap
B -q keys generate --dir keys >/dev/null
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$TMP/v1" >/dev/null 2>&1
B -q disk create --repo repo --image v1 --keys keys -o disk.raw --work-dir w --keep-work >/dev/null
rm -f disk.raw
D1=$(B -q image digest --repo repo v1)
D2=$(B -q image digest "dir:$TMP/v2")
B -q image import --repo w/root "dir:$TMP/v2" >/dev/null 2>&1   # imported once, so staging only seals and writes
B -q initrd build --kernel-modules-from "$PAY/kernel" --init /bin/busybox -o small.cpio >/dev/null
B -q uki build --stub "$STUB" --linux "$PAY/kernel/vmlinuz" --initrd small.cpio --cmdline "composefs=$D2" \
  --os-release "@$TMP/v2/usr/lib/os-release" --uname "$KVER" --output v2.unsigned
B -q sign --key keys/db.key --cert keys/db.crt --output v2.efi v2.unsigned
cp -a w base.v1                                                 # v1 installed, nothing staged
B -q switch --sysroot w/root --esp w/esp --uki v2.efi "dir:$TMP/v2" >/dev/null 2>&1 || fail "stage v2"
cp -a w base.staged                                             # v2 staged
B -q finalize --sysroot w/root --esp w/esp >/dev/null || fail "finalize v2"
cp -a w base.final                                              # v2 default, v1 rollback
FAKE=$(printf '%128s' | tr ' ' f); mkdir -p "w/root/state/deploy/$FAKE/etc"; cp -a w base.gc; rm -rf w

SYSCALLS=(rename renameat renameat2 fsync fdatasync unlink unlinkat mkdir mkdirat symlink symlinkat write)
points=0
# bootable DIR: the entry systemd-boot boots has its UKI, image and state.
bootable() {
  B --json status --sysroot "$1/root" --esp "$1/esp" > st.json 2>/dev/null
  jget st.json '(lambda b: b is not None and b["bootseal"]["ukiPresent"] and b["bootseal"]["imagePresent"] and b["bootseal"]["statePresent"] and b["composefs"]["verity"] in (sys.argv[3], sys.argv[4]))(d["status"]["booted"])' "$D1" "$D2" 2>/dev/null
}
# crash BASE WHAT -- CMD...: for each syscall kind and each of its calls, kill CMD there.
crash() {
  local base=$1 what=$2; shift 3
  for sc in "${SYSCALLS[@]}"; do
    rm -rf c; cp -a "$base" c
    local n
    n=$(strace -f -qq -e trace="$sc" -o trace.log "$@" >/dev/null 2>&1; grep -c "^[0-9]* *$sc(" trace.log || true)
    [ "${n:-0}" -gt 0 ] || continue
    local step=$(( n > 6 ? n / 6 : 1 ))
    for ((i = 1; i <= n; i += step)); do
      rm -rf c; cp -a "$base" c
      strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=SIGKILL:when="$i" "$@" >/dev/null 2>&1 || true
      points=$((points + 1))
      [ "$(bootable c)" = True ] && pass || fail "$what killed at $sc #$i: not bootable: $(cat st.json | head -c 300)"
      "$@" >/dev/null 2>repair.err && pass || fail "$what killed at $sc #$i: the repair run failed: $(cat repair.err)"
      B -q status --sysroot c/root --esp c/esp >/dev/null 2>&1 && pass || fail "$what killed at $sc #$i: status after the repair reports problems"
    done
  done
}
S=(--sysroot c/root --esp c/esp)
crash base.staged finalize -- "$BOOTSEAL" finalize "${S[@]}"
crash base.v1 switch -- "$BOOTSEAL" switch "${S[@]}" --uki "$TMP/v2.efi" "dir:$TMP/v2"
crash base.final rollback -- "$BOOTSEAL" rollback "${S[@]}"
crash base.gc gc -- "$BOOTSEAL" gc "${S[@]}"
echo "$points kill points"
[ "$points" -ge 50 ] && pass || fail "only $points kill points"
finish
