#!/bin/bash
# bootseal uki build (+ sign) versus ukify build + sbsign, on the real kernel
# and a 50 MB random initrd; one run each, wall times and the ratio printed.
#   bench/uki_build.sh [path/to/bootseal]
# Signing: `bootseal uki build --sign-key/--sign-cert` when this build has
# Authenticode signing, else `bootseal sign` when that verb exists, else the
# comparison is build-only on both sides (and says so).
set -euo pipefail
BOOTSEAL=${1:-${BOOTSEAL:-build/src/cli/bootseal}}
BOOTSEAL=$(readlink -f "$BOOTSEAL")
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
KERNEL=$P/kernel/vmlinuz
UKIFY=$P/ukify/usr/bin/ukify
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
head -c $((50 * 1024 * 1024)) /dev/urandom > initrd
printf 'ID=bench\nNAME="Bench OS"\n' > osrel
CMDLINE="console=ttyS0 composefs=$(printf '%0128d' 1) rw"
openssl req -x509 -newkey rsa:2048 -nodes -keyout db.key -out db.crt -subj /CN=bench-db -days 30 2>/dev/null
sync


# Which signing path does bootseal have?
mode=none
if "$BOOTSEAL" uki build --linux "$KERNEL" --os-release @osrel --stub "$STUB" --sign-key db.key --sign-cert db.crt \
     --output probe.efi >/dev/null 2>&1; then
  mode=build-flag
elif "$BOOTSEAL" --help 2>/dev/null | grep -qE "^ +sign( |$)"; then
  mode=verb
fi

# Each side runs under /usr/bin/time: wall time and CPU (user+sys) time, since
# wall time on a loaded 2-core machine is noisy.
REF_CMD="/usr/bin/python3 '$UKIFY' build --linux='$KERNEL' --initrd=initrd --cmdline='$CMDLINE' --os-release=@osrel \
  --stub='$STUB' --output=ukify.efi 2>/dev/null"
[ "$mode" != none ] && REF_CMD="$REF_CMD && sbsign --key db.key --cert db.crt --output ukify.signed.efi ukify.efi 2>/dev/null"
B="'$BOOTSEAL' uki build --linux '$KERNEL' --initrd initrd --cmdline '$CMDLINE' --os-release @osrel --stub '$STUB'"
case $mode in
  build-flag) OUR_CMD="$B --sign-key db.key --sign-cert db.crt --output ours.efi 2>/dev/null" ;;
  verb) OUR_CMD="$B --output ours.unsigned.efi && '$BOOTSEAL' sign --key db.key --cert db.crt --output ours.efi ours.unsigned.efi 2>/dev/null" ;;
  none) OUR_CMD="$B --output ours.efi" ;;
esac
read -r ref ref_cpu < <(/usr/bin/time -f "%e %U %S" bash -c "$REF_CMD" 2>&1 >/dev/null | tail -1 | awk '{print $1, $2 + $3}')
read -r ours our_cpu < <(/usr/bin/time -f "%e %U %S" bash -c "$OUR_CMD" 2>&1 >/dev/null | tail -1 | awk '{print $1, $2 + $3}')
what="build"; [ "$mode" != none ] && what="build + sign"
[ "$mode" = none ] && echo "note: this bootseal has no Authenticode signing yet; comparing build only"
[ "$mode" != none ] && sbverify --cert db.crt ours.efi >/dev/null 2>&1 && echo "sbverify: our signed UKI verifies"
printf 'UKI %s, kernel %s + 50 MiB initrd (%s bytes out)\n' "$what" "$(stat -c %s "$(readlink -f "$KERNEL")")" \
  "$(stat -c %s ours.efi)"
printf '  ukify%-9s wall %6.2f s   cpu %6.2f s\n' "$([ "$mode" != none ] && echo ' + sbsign')" "$ref" "$ref_cpu"
printf '  bootseal        wall %6.2f s   cpu %6.2f s\n' "$ours" "$our_cpu"
printf '  ratio           wall %5.1fx    cpu %5.1fx   (load average %s)\n' "$(echo "$ref / $ours" | bc -l)" \
  "$(echo "$ref_cpu / $our_cpu" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
