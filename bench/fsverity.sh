#!/usr/bin/env bash
# Benchmark: bootseal verity digest vs fsverity digest (fsverity-utils), in one run.
#   bench/fsverity.sh [BOOTSEAL]    (default: build/src/cli/bootseal)
# 1) one 1 GiB file, page-cached, 3 runs each, medians;
# 2) a tree of 20,000 small files (1..16 KiB), 3 runs each, medians;
# 3) the ceiling: 2 x single-core `openssl speed -evp sha256` at 4 KiB blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build/src/cli/bootseal}
W=${BENCH_DIR:-$(mktemp -d /tmp/bootseal-bench.XXXXXX)}
trap 'rm -rf "$W"' EXIT
command -v fsverity >/dev/null || { echo "fsverity not installed (tools/setup)"; exit 1; }

median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

echo "== setup: 1 GiB random file and 20,000 small files in $W"
head -c $((1024 * 1024 * 1024)) /dev/urandom > "$W/big"
mkdir -p "$W/tree"
python3 - "$W/tree" <<'PY'
import os, random, sys
r = random.Random(1); root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, "d%03d" % (i % 200)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f: f.write(os.urandom(r.randint(1, 16384)))
PY
mapfile -t small < <(find "$W/tree" -type f | sort)
cat "$W/big" > /dev/null  # page-cache it

[ "$("$B" verity digest --compact "$W/big")" == "$(fsverity digest --compact "$W/big")" ] || { echo "MISMATCH on big file"; exit 1; }

b=(); r=()
for i in 1 2 3; do b+=("$(t "$B" verity digest "$W/big")"); r+=("$(t fsverity digest "$W/big")"); done
bb=$(median3 "${b[@]}"); rb=$(median3 "${r[@]}")
sb=(); sr=()
for i in 1 2 3; do sb+=("$(t "$B" verity digest "${small[@]}")"); sr+=("$(t fsverity digest "${small[@]}")"); done
bs=$(median3 "${sb[@]}"); rs=$(median3 "${sr[@]}")

# openssl speed prints "... sha256 ... <16B> <64B> <256B> <1024B> <8192B> <16384B>" in k/s; use -bytes 4096.
ossl=$(openssl speed -seconds 2 -bytes 4096 -evp sha256 2>/dev/null | awk '/^sha256/{v=$NF; sub(/k$/,"",v); print v*1000}')
ceiling=$(echo "2 * $ossl / 1048576" | bc -l)
big_mib=1024
echo
printf '%-34s %10s %10s %8s\n' "case (median of 3)" "bootseal" "fsverity" "ratio"
printf '%-34s %9.3fs %9.3fs %7.2fx\n' "1 GiB file" "$bb" "$rb" "$(echo "$rb / $bb" | bc -l)"
printf '%-34s %9.3fs %9.3fs %7.2fx\n' "20,000 small files" "$bs" "$rs" "$(echo "$rs / $bs" | bc -l)"
printf '\nthroughput on 1 GiB: bootseal %.0f MiB/s; ceiling 2 x openssl speed sha256 (4 KiB) = %.0f MiB/s (%.0f%% of it)\n' \
  "$(echo "$big_mib / $bb" | bc -l)" "$ceiling" "$(echo "100 * $big_mib / $bb / $ceiling" | bc -l)"
echo "cores: $(nproc)"
