#!/usr/bin/env bash
# Benchmark: bootseal verify on a 2 GB disk image (issue 17's targets).
#   bench/verify.sh [BOOTSEAL]    (default: build/src/cli/bootseal)
# A tiny root (tests/lib/sealed_root.sh) plus BENCH_MB (default 400) MB of random
# files, sealed by `disk create --size 2G`. Times `verify` (target < 5 s) and
# `verify --deep`, whose MB/s is compared with `bootseal verity digest` on the
# same objects (the staged root's composefs/objects, page-cached; target >= 80%).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${1:-build/src/cli/bootseal}")
SRC=$PWD
MB=${BENCH_MB:-400}
W=$(mktemp -d /tmp/bootseal-bench-verify.XXXXXX); trap 'rm -rf "$W"' EXIT
TMP=$W
source tests/lib/sealed_root.sh
cd "$W"
mkroot r
mkdir -p r/usr/share/big
for i in $(seq 1 $((MB / 10))); do head -c $((10 * 1024 * 1024)) /dev/urandom > r/usr/share/big/f$i; done
"$B" -q repo init --repo repo >/dev/null
"$B" -q image import --repo repo --ref r "dir:$W/r" >/dev/null 2>&1
"$B" -q keys generate --dir keys >/dev/null
"$B" -q disk create --repo repo --image r --keys keys -o disk.raw --size 2G --work-dir w --keep-work >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); disk $(du -h --apparent-size disk.raw | cut -f1) ($(du -h disk.raw | cut -f1) allocated)"
cat disk.raw > /dev/null   # page-cached, as the reference run below
s=$(date +%s.%N); "$B" verify disk.raw > v.out; e=$(date +%s.%N)
echo "verify disk.raw: $(printf "%.2f" "$(echo "$e - $s" | bc -l)") s (target < 5 s)"
"$B" verify --deep disk.raw > deep.out
deep=$(grep -o '[0-9]* MB/s' deep.out | head -1)
mapfile -t objs < <(find w/root/composefs/objects -type f)
s=$(date +%s.%N); "$B" verity digest --hash-alg sha512 "${objs[@]}" > /dev/null; e=$(date +%s.%N)
bytes=$(du -cb "${objs[@]}" | tail -1 | cut -f1)
ref=$(echo "$bytes / 1000000 / ($e - $s)" | bc -l | cut -d. -f1)
echo "verify --deep: $deep; bootseal verity digest (sha512) on the same ${#objs[@]} objects: $ref MB/s"
