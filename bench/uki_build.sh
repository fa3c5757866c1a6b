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

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# Which signing path does bootseal have?
mode=none
if "$BOOTSEAL" uki build --linux "$KERNEL" --os-release @osrel --stub "$STUB" --sign-key db.key --sign-cert db.crt \
     --output probe.efi >/dev/null 2>&1; then
  mode=build-flag
elif "$BOOTSEAL" --help 2>/dev/null | grep -qE "^ +sign( |$)"; then
  mode=verb
fi

t0=$(now)
/usr/bin/python3 "$UKIFY" build --linux="$KERNEL" --initrd=initrd --cmdline="$CMDLINE" --os-release=@osrel \
  --stub="$STUB" --output=ukify.efi 2>/dev/null
if [ "$mode" != none ]; then sbsign --key db.key --cert db.crt --output ukify.signed.efi ukify.efi 2>/dev/null; fi
t1=$(now)
case $mode in
  build-flag)
    "$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel --stub "$STUB" \
      --sign-key db.key --sign-cert db.crt --output ours.efi ;;
  verb)
    "$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel --stub "$STUB" \
      --output ours.unsigned.efi
    "$BOOTSEAL" sign --key db.key --cert db.crt --output ours.efi ours.unsigned.efi ;;
  none)
    "$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "$CMDLINE" --os-release @osrel --stub "$STUB" \
      --output ours.efi ;;
esac
t2=$(now)

ref=$(elapsed "$t0" "$t1"); ours=$(elapsed "$t1" "$t2")
what="build"; [ "$mode" != none ] && what="build + sign"
[ "$mode" = none ] && echo "note: this bootseal has no Authenticode signing yet; comparing build only"
[ "$mode" != none ] && sbverify --cert db.crt ours.efi >/dev/null 2>&1 && echo "sbverify: our signed UKI verifies"
printf 'UKI %s, kernel %s + 50 MiB initrd (%s bytes out)\n' "$what" "$(stat -c %s "$(readlink -f "$KERNEL")")" \
  "$(stat -c %s ours.efi)"
printf '  ukify%s: %.3f s\n' "$([ "$mode" != none ] && echo ' + sbsign')" "$ref"
printf '  bootseal:       %.3f s\n' "$ours"
printf '  ratio:          %.1fx\n' "$(echo "$ref / $ours" | bc -l)"
