#!/bin/bash
# A signed UKI from the real kernel and a 50 MiB random initrd, three ways:
#   ref       ukify build  then  sbsign                  (the reference tools)
#   two-step  bootseal uki build  then  bootseal sign
#   one-step  bootseal uki build --sign-key/--sign-cert
# Each is run RUNS times (default 5), interleaved, with `sync` before each run
# (so no side pays for the other's writeback) and its previous outputs removed;
# median wall and CPU (user+sys) times and the ratios ref/ours are printed. The
# headline ratio is the best bootseal path to the same result (a signed UKI).
#   bench/uki_build.sh [path/to/bootseal]        RUNS=1 for a single run
# Checks on the way: the two-step unsigned UKI (--no-checksum, as ukify leaves
# it) is byte-identical to ukify's, sbverify accepts every signed output, and
# all signed outputs are byte-identical for one signing time (SOURCE_DATE_EPOCH
# for ours; sbsign's clock is read back from its signature).
set -euo pipefail
BOOTSEAL=${1:-${BOOTSEAL:-build/src/cli/bootseal}}
BOOTSEAL=$(readlink -f "$BOOTSEAL")
RUNS=${RUNS:-5}
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
KERNEL=$P/kernel/vmlinuz
UKIFY=$P/ukify/usr/bin/ukify
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
head -c $((50 * 1024 * 1024)) /dev/urandom > initrd
printf 'ID=bench\nNAME="Bench OS"\n' > osrel
CMDLINE="console=ttyS0 composefs=$(printf '%0128d' 1) rw"
openssl req -x509 -newkey rsa:2048 -nodes -keyout db.key -out db.crt -subj /CN=bench-db -days 30 \
  -addext extendedKeyUsage=codeSigning 2>/dev/null

# All three write their outputs into this directory (same filesystem).
REF_CMD="/usr/bin/python3 '$UKIFY' build --linux='$KERNEL' --initrd=initrd --cmdline='$CMDLINE' --os-release=@osrel \
  --stub='$STUB' --output=ref.unsigned.efi >/dev/null 2>&1 \
  && sbsign --key db.key --cert db.crt --output ref.efi ref.unsigned.efi >/dev/null 2>&1"
B="'$BOOTSEAL' -q uki build --linux '$KERNEL' --initrd initrd --cmdline '$CMDLINE' --os-release @osrel --stub '$STUB'"
TWO_CMD="$B --no-checksum --output two.unsigned.efi && '$BOOTSEAL' -q sign --key db.key --cert db.crt --output two.efi two.unsigned.efi"
ONE_CMD="$B --sign-key db.key --sign-cert db.crt --output one.efi"
names=(ref two one)
cmds=("$REF_CMD" "$TWO_CMD" "$ONE_CMD")
declare -A walls cpus
for ((r = 0; r < RUNS; r++)); do
  for i in 0 1 2; do
    rm -f ./"${names[$i]}".*efi
    sync
    t=$(/usr/bin/time -f "%e %U %S" bash -c "${cmds[$i]}" 2>&1 >/dev/null | tail -1) ||
      { echo "${names[$i]} failed: $t" >&2; exit 1; }
    read -r w u s <<<"$t"
    walls[${names[$i]}]+="$w "
    cpus[${names[$i]}]+="$(echo "$u + $s" | bc -l) "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
declare -A mw mc
for n in "${names[@]}"; do
  mw[$n]=$(median <<<"${walls[$n]}")
  mc[$n]=$(median <<<"${cpus[$n]}")
done

# Same result: identical unsigned UKIs, every signed one verifies, and equal
# bytes for one signing time.
cmp -s ref.unsigned.efi two.unsigned.efi && echo "unsigned UKI: bootseal's is byte-identical to ukify's" ||
  echo "WARNING: bootseal's unsigned UKI differs from ukify's"
ok=1
for f in ref two one; do sbverify --cert db.crt $f.efi >/dev/null 2>&1 || { ok=0; echo "WARNING: sbverify rejects $f.efi"; }; done
[ $ok = 1 ] && echo "sbverify: all three signed UKIs verify"
epoch=$(python3 - ref.efi <<'PY'
import struct, sys, datetime
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
va, sz = struct.unpack_from('<II', d, pe + 24 + 112 + 32)
sig = d[va:va + sz]
i = sig.rindex(bytes.fromhex('06092a864886f70d010905'))  # signingTime attribute
t = sig[i + 15:i + 28].decode()
print(int(datetime.datetime.strptime(t, '%y%m%d%H%M%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()))
PY
)
SOURCE_DATE_EPOCH=$epoch bash -c "$ONE_CMD"
SOURCE_DATE_EPOCH=$epoch "$BOOTSEAL" -q sign --key db.key --cert db.crt --output two.efi two.unsigned.efi
cmp -s one.efi ref.efi && cmp -s two.efi ref.efi && echo "signed UKI: both bootseal paths are byte-identical to sbsign's" ||
  echo "WARNING: a signed bootseal UKI differs from sbsign's"

printf 'signed UKI, kernel %s bytes + 50 MiB initrd (%s bytes out); medians of %s runs\n' \
  "$(stat -c %s "$(readlink -f "$KERNEL")")" "$(stat -c %s ref.efi)" "$RUNS"
printf '  %-34s wall %6.3f s   cpu %6.3f s\n' "ukify build + sbsign" "${mw[ref]}" "${mc[ref]}"
printf '  %-34s wall %6.3f s   cpu %6.3f s   ratio wall %5.1fx  cpu %5.1fx\n' \
  "bootseal uki build + bootseal sign" "${mw[two]}" "${mc[two]}" "$(echo "${mw[ref]} / ${mw[two]}" | bc -l)" \
  "$(echo "${mc[ref]} / ${mc[two]}" | bc -l)"
printf '  %-34s wall %6.3f s   cpu %6.3f s   ratio wall %5.1fx  cpu %5.1fx\n' \
  "bootseal uki build --sign-key" "${mw[one]}" "${mc[one]}" "$(echo "${mw[ref]} / ${mw[one]}" | bc -l)" \
  "$(echo "${mc[ref]} / ${mc[one]}" | bc -l)"
best=$(echo "if (${mw[one]} < ${mw[two]}) ${mw[one]} else ${mw[two]}" | bc -l)
printf 'ratio (ukify + sbsign) / (best bootseal path), wall: %.1fx   (target 3x; load average %s)\n' \
  "$(echo "${mw[ref]} / $best" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${names[@]}"; do printf '  %-8s walls: %s\n' "$n" "${walls[$n]}"; done
