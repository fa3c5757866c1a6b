#!/usr/bin/env bash
# Benchmark: bootseal verity digest vs fsverity digest (fsverity-utils), in one run.
#   bench/fsverity.sh [BOOTSEAL]    (default: build/src/cli/bootseal)
# 1) one 1 GiB file, page-cached, 3 runs each (BENCH_RUNS), medians;
# 2) a tree of 20,000 small files (1..16 KiB), 3 runs each, medians;
# 3) the ceiling: 2 x single-core `openssl speed -evp sha256 -bytes 4096`, measured
#    before and after the timings (the higher one counts), and our share of it;
#    also `openssl speed -multi 2` (what two processes get under the current
#    load) and bootseal's CPU time (what it would reach on idle cores).
# Also times bootseal with BOOTSEAL_SHA_MULTI=0 (SHA-256 by OpenSSL only, no
# multi-lane AVX-512 code) on the big file. The machine's load is printed: on a
# shared machine compare the ratios of one run, and repeat at quiet moments.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build/src/cli/bootseal}
RUNS=${BENCH_RUNS:-3}
# BENCH_DIR keeps the test files between runs (made once, not deleted).
if [ -n "${BENCH_DIR:-}" ]; then W=$BENCH_DIR; mkdir -p "$W"; else W=$(mktemp -d /tmp/bootseal-bench.XXXXXX); trap 'rm -rf "$W"' EXIT; fi
command -v fsverity >/dev/null || { echo "fsverity not installed (tools/setup)"; exit 1; }

median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
# CPU seconds (user + sys) of a command: unlike wall time, hardly moved by other load.
cpu() { /usr/bin/time -f '%U + %S' "$@" 2>&1 >/dev/null | tail -1 | bc -l; }
# Single-core openssl speed for 4 KiB messages, in bytes/s ("sha256  1662569.55k": 1000s of bytes/s).
ossl_speed() { openssl speed -seconds 3 -bytes 4096 -evp sha256 2>/dev/null | awk '/^sha256/{v=$NF; sub(/k$/,"",v); print v*1000}'; }

echo "== setup: 1 GiB random file and 20,000 small files in $W"
[ -f "$W/big" ] && [ "$(stat -c %s "$W/big")" -eq $((1024 * 1024 * 1024)) ] || head -c $((1024 * 1024 * 1024)) /dev/urandom > "$W/big"
[ -d "$W/tree" ] || python3 - "$W/tree" <<'PY'
import os, random, sys
r = random.Random(1); root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, "d%03d" % (i % 200)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f: f.write(os.urandom(r.randint(1, 16384)))
PY
mapfile -t small < <(find "$W/tree" -type f | sort)
cat "$W/big" > /dev/null  # page-cache it
cat "${small[@]}" > /dev/null

[ "$("$B" verity digest --compact "$W/big")" == "$(fsverity digest --compact "$W/big")" ] || { echo "MISMATCH on big file"; exit 1; }
[ "$(BOOTSEAL_SHA_MULTI=0 "$B" verity digest --compact "$W/big")" == "$(fsverity digest --compact "$W/big")" ] || { echo "MISMATCH on big file (OpenSSL only)"; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ossl1=$(ossl_speed)
b=(); r=(); o=()
for ((i = 0; i < RUNS; i++)); do
  b+=("$(t "$B" verity digest "$W/big")")
  r+=("$(t fsverity digest "$W/big")")
  o+=("$(BOOTSEAL_SHA_MULTI=0 t "$B" verity digest "$W/big")")
done
bb=$(median "${b[@]}"); rb=$(median "${r[@]}"); ob=$(median "${o[@]}")
c=(); for ((i = 0; i < RUNS; i++)); do c+=("$(cpu "$B" verity digest "$W/big")"); done
cb=$(median "${c[@]}")
sb=(); sr=()
for ((i = 0; i < RUNS; i++)); do sb+=("$(t "$B" verity digest "${small[@]}")"); sr+=("$(t fsverity digest "${small[@]}")"); done
bs=$(median "${sb[@]}"); rs=$(median "${sr[@]}")
ossl2=$(ossl_speed)
# What 2 openssl processes really get under the load of the moment (the
# ceiling above assumes idle cores): a fairer yardstick on a busy machine.
ossl_multi=$(openssl speed -seconds 3 -bytes 4096 -multi "$(nproc)" -evp sha256 2>/dev/null | awk '/^sha256[[:space:]]/{v=$NF} END {sub(/k$/,"",v); printf "%.0f\n", v*1000}')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ossl=$(printf '%s\n' "$ossl1" "$ossl2" | sort -g | tail -1)
ceiling=$(echo "2 * $ossl / 1048576" | bc -l)
big_mib=1024
echo
printf '%-40s %10s %10s %8s\n' "case (median of $RUNS)" "bootseal" "fsverity" "ratio"
printf '%-40s %9.3fs %9.3fs %7.2fx\n' "1 GiB file" "$bb" "$rb" "$(echo "$rb / $bb" | bc -l)"
printf '%-40s %9.3fs %9.3fs %7.2fx\n' "1 GiB file, OpenSSL SHA-256 only" "$ob" "$rb" "$(echo "$rb / $ob" | bc -l)"
printf '%-40s %9.3fs %9.3fs %7.2fx\n' "20,000 small files" "$bs" "$rs" "$(echo "$rs / $bs" | bc -l)"
printf '\nopenssl speed -evp sha256 -bytes 4096, single core: %.0f and %.0f MiB/s (before/after)\n' \
  "$(echo "$ossl1 / 1048576" | bc -l)" "$(echo "$ossl2 / 1048576" | bc -l)"
printf 'ceiling = 2 x %.0f = %.0f MiB/s\n' "$(echo "$ossl / 1048576" | bc -l)" "$ceiling"
printf 'throughput on 1 GiB: bootseal %.0f MiB/s = %.0f%% of the ceiling (target >= 85%%); OpenSSL-only %.0f MiB/s = %.0f%%; fsverity %.0f MiB/s\n' \
  "$(echo "$big_mib / $bb" | bc -l)" "$(echo "100 * $big_mib / $bb / $ceiling" | bc -l)" \
  "$(echo "$big_mib / $ob" | bc -l)" "$(echo "100 * $big_mib / $ob / $ceiling" | bc -l)" "$(echo "$big_mib / $rb" | bc -l)"
printf 'openssl speed -multi %d now: %.0f MiB/s; bootseal = %.0f%% of that\n' "$(nproc)" \
  "$(echo "$ossl_multi / 1048576" | bc -l)" "$(echo "100 * $big_mib / $bb / ($ossl_multi / 1048576)" | bc -l)"
printf 'CPU time of bootseal on 1 GiB: %.3f s (user+sys, median); on %d idle cores that is at most %.0f MiB/s = %.0f%% of the ceiling\n' \
  "$cb" "$(nproc)" "$(echo "$(nproc) * $big_mib / $cb" | bc -l)" "$(echo "100 * $(nproc) * $big_mib / $cb / $ceiling" | bc -l)"
echo "cores: $(nproc); load average before: $load_before, after: $load_after"
