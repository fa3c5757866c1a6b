#!/bin/bash
# TPM2 enroll and unlock against systemd 254 on the same swtpm, one run each (PCR 7
# policy, LUKS2 image file, check-only unlock):
#   enroll   bootseal tpm enroll          vs  systemd-cryptenroll --tpm2-pcrs=7
#   unlock   bootseal tpm unlock --test   vs  systemd's token plugin (crypt_activate_by_token_pin)
# Both sides pay process start, header load and the keyslot's PBKDF (pbkdf2, 1000
# iterations for both: systemd's choice for high-entropy secrets). systemd runs in a
# private mount namespace (docs/tpm.md), which `unshare` adds to its side.
#   bench/tpm_unlock.sh [path/to/bootseal]        (root: the mount namespace)
set -euo pipefail
BOOTSEAL=${1:-${BOOTSEAL:-build/src/cli/bootseal}}
BOOTSEAL=$(readlink -f "$BOOTSEAL")
SRC=$(readlink -f "$(dirname "$0")/..")
export BOOTSEAL SRC
. "$SRC/tests/lib.sh"
. "$SRC/tests/lib/swtpm.sh"
need_systemd254
swtpm_start
measure_firmware
now() { date +%s.%N; }
ms() { echo "scale=1; ($2 - $1) * 1000 / 1" | bc; }
make_luks_image "$TMP/a.img"
cp "$TMP/a.img" "$TMP/b.img"

t0=$(now); "$BOOTSEAL" -q tpm enroll "$TMP/a.img" --tpm2-device "$SWTPM_TCTI" --pcrs 7 --unlock-key-file "$TMP/pass"; t1=$(now)
PASSWORD=$(cat "$TMP/pass") cryptenroll254 --tpm2-pcrs=7 "$TMP/b.img" >/dev/null 2>&1; t2=$(now)
"$BOOTSEAL" -q tpm unlock --test "$TMP/a.img" --tpm2-device "$SWTPM_TCTI"; t3=$(now)
plugin254_unlock "$TMP/b.img" 0 >/dev/null; t4=$(now)
sd254 true; t5=$(now)   # the namespace's own cost, for reference
e_ours=$(ms "$t0" "$t1"); e_ref=$(ms "$t1" "$t2"); u_ours=$(ms "$t2" "$t3"); u_ref=$(ms "$t3" "$t4")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %10s %12s %8s\n' step bootseal systemd-254 ratio
printf '%-8s %8s ms %10s ms %8s\n' enroll "$e_ours" "$e_ref" "$(echo "scale=2; $e_ref / $e_ours" | bc)"
printf '%-8s %8s ms %10s ms %8s\n' unlock "$u_ours" "$u_ref" "$(echo "scale=2; $u_ref / $u_ours" | bc)"
echo "(systemd side includes the mount namespace: $(ms "$t4" "$t5") ms for 'unshare -m sh -c true')"
