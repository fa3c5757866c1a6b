#!/usr/bin/env bash
# -v prints every external command run ("+ cmd args", from the one subprocess
# runner in src/sys), nothing without it; -q hides chatter but never the result
# a command exists to print.
source "$SRC/tests/lib.sh"
need mkfs.vfat mcopy mke2fs xz
B=$BOOTSEAL
cd "$TMP"
mkdir -p esp/EFI/BOOT root/state
head -c 1000 /dev/urandom >esp/EFI/BOOT/BOOTX64.EFI
echo x >root/state/f
"$B" -v disk assemble --esp esp --root root -o disk.raw --esp-size 64M >/dev/null 2>err
for c in "mkfs.vfat -C -F 32" "mmd -i" "mcopy -i" "mke2fs -q -F -t ext4"; do
  grep -q "^+ $c" err && pass || fail "-v disk assemble did not print '+ $c ...': $(cat err)"
done
grep -q "^+ mcopy -i disk.raw.parts/esp.img -m esp/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/BOOTX64.EFI$" err && pass \
  || fail "mcopy line lacks its arguments: $(grep mcopy err)"
"$B" disk assemble --esp esp --root root -o disk2.raw --esp-size 64M >/dev/null 2>err
check_eq "no echo without -v" "" "$(grep '^+ ' err || true)"

# initrd build decompresses .xz modules with xz: echoed once (not twice).
mkdir -p mods/lib/modules/6.1.0-test/kernel
echo module >mods/lib/modules/6.1.0-test/kernel/m.ko && xz mods/lib/modules/6.1.0-test/kernel/m.ko
printf 'kernel/m.ko.xz:\n' >mods/lib/modules/6.1.0-test/modules.dep
if command -v busybox >/dev/null && "$B" -v initrd build --kernel-modules-from mods/lib/modules/6.1.0-test --module m \
     -o initrd.img >/dev/null 2>err; then
  check_eq "+ xz once" 1 "$(grep -c "^+ xz -dc .*m.ko.xz$" err)"
else
  grep -q "^+ xz -dc" err && pass || fail "-v initrd build did not echo xz: $(cat err)"
fi

# -q: results stay.
out=$("$B" -q repo init --repo "$TMP/r")
[[ $out == "$TMP/r"* ]] && pass || fail "-q repo init printed [$out], not the repository path"
out=$("$B" -q repo fsck --repo "$TMP/r")
[[ $out == *"0 problems"* ]] && pass || fail "-q repo fsck printed [$out], not its verdict"
mkdir -p t1 && echo a >t1/a
out=$("$B" -q image diff dir:t1 dir:t1)
check_eq "-q image diff verdict" "no differences" "$out"
out=$("$B" -q keys generate --dir keys)
check_eq "-q keys generate chatter" "" "$out"
finish
