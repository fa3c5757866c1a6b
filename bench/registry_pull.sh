#!/usr/bin/env bash
# Benchmark: `bootseal image pull docker://…` of a >= 500 MB multi-layer
# image (this machine's /usr, 4 gzip layers, built as bench/import.sh does)
# from docker-registry 2.8.2 on loopback into an empty repository, versus the
# two-step path a user has without a registry client: `skopeo copy
# docker://… oci:…` followed by `bootseal image import oci:…`. Medians of
# RUNS runs (default 3), the ratio, peak RSS, and the disk's sustained write
# rate measured in the same run (dd 1 GiB, conv=fsync) beside the rate at
# which the pull wrote file contents.
#   bench/registry_pull.sh
# Env: BOOTSEAL (default build/src/cli/bootseal), BENCH_DIR (work dir on the
# disk to measure, removed at the end unless given), BENCH_MB (default 600), RUNS.
# Targets (issue 16): pull faster than the two-step path in every run, the
# pull's content rate within 10% of the disk rate, peak RSS < 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${BOOTSEAL:-build/src/cli/bootseal}")
SRC=$PWD
W=${BENCH_DIR:-}
if [ -z "$W" ]; then W=$(mktemp -d /var/tmp/bootseal-registry-bench.XXXXXX); fi
mkdir -p "$W"
MB=${BENCH_MB:-600}
RUNS=${RUNS:-3}
TMP=$W  # tests/lib/registry.sh keeps its registry under $TMP and stops it on exit
source tests/lib/registry.sh
[ -n "${BENCH_DIR:-}" ] && trap 'for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

echo "== building layers from /usr (target ${MB} MB) in $W"
python3 - "$W" "$MB" <<'PY'
import os, sys
w, budget = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
groups = [["usr/lib"], ["usr/share"], ["usr/include", "usr/bin", "usr/sbin", "usr/libexec", "usr/src"]]
per = budget // 3
for i, g in enumerate(groups):
    size = 0; out = []
    for top in g:
        for root, dirs, files in os.walk("/" + top):
            dirs.sort()
            out.append(root[1:])
            for f in sorted(files):
                p = os.path.join(root, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                out.append(p[1:])
                size += st.st_size if os.path.isfile(p) and not os.path.islink(p) else 0
                if size > per: break
            if size > per: break
        if size > per: break
    open(os.path.join(w, f"list{i+1}"), "w").write("\n".join(out) + "\n")
PY
for i in 1 2 3; do tar -C / --format=pax --no-recursion -cf "$W/l$i.tar" -T "$W/list$i" 2>/dev/null || true; done
mkdir -p "$W/skel/usr" "$W/skel/boot" "$W/skel/sysroot"
tar -C "$W/skel" --format=pax -cf "$W/l0.tar" usr boot sysroot
python3 tests/interop/oci_layout.py image "$W/img" --tag t --gzip "$W/l0.tar" "$W/l1.tar" "$W/l2.tar" "$W/l3.tar"
bytes=$(cat "$W"/l[0-3].tar | wc -c)
rm -f "$W"/l[0-3].tar
echo "image: $((bytes / 1048576)) MB of tar, $(du -sm "$W/img" | cut -f1) MB gzip, 4 layers"

start_registry bench
R=$REG_URL
skopeo copy -q --dest-tls-verify=false oci:"$W/img":t docker://$R/bench/img:t
want=$("$B" image digest oci:"$W/img":t)

echo "== disk write rate (dd 1 GiB, conv=fsync) in $W"
dd_rate=$(dd if=/dev/zero of="$W/dd.out" bs=1M count=1024 conv=fsync 2>&1 | awk '/copied/ {print $(NF-1), $NF}')
rm -f "$W/dd.out"
echo "disk: $dd_rate"

run() {  # run NAME CMD... -> "NAME secs rss_kb" appended to results
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { cat "$W/err"; exit 1; }
  read -r secs rss <"$W/time"
  echo "$name $secs $rss" >>"$W/results"
}
: >"$W/results"
for r in $(seq 1 "$RUNS"); do
  rm -rf "$W/repo" "$W/pulled"; "$B" -q repo init --repo "$W/repo"; sync
  run pull "$B" -q image pull --repo "$W/repo" --tls-verify=false docker://$R/bench/img:t
  [ "$(cat "$W/out")" = "$want" ] || { echo "pull gave $(cat "$W/out"), expected $want"; exit 1; }
  rm -rf "$W/repo" "$W/pulled"; "$B" -q repo init --repo "$W/repo"; sync
  run copy skopeo copy -q --src-tls-verify=false docker://$R/bench/img:t oci:"$W/pulled":t
  run import "$B" -q image import --repo "$W/repo" oci:"$W/pulled":t
  [ "$(cat "$W/out")" = "$want" ] || { echo "import gave $(cat "$W/out"), expected $want"; exit 1; }
  p=$(awk '$1=="pull" {t=$2} END {print t}' "$W/results")
  c=$(awk '$1=="copy" {t=$2} END {print t}' "$W/results")
  i=$(awk '$1=="import" {t=$2} END {print t}' "$W/results")
  printf 'run %d: pull %6.2f s   skopeo copy %6.2f s + import %6.2f s = %6.2f s   (%s)\n' "$r" "$p" "$c" "$i" \
    "$(echo "$c + $i" | bc -l)" "$(awk -v p="$p" -v s="$(echo "$c + $i" | bc -l)" 'BEGIN {print (p < s) ? "pull faster" : "PULL SLOWER"}')"
done
median() { awk -v n="$1" '$1==n {print $2}' "$W/results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxrss() { awk -v n="$1" '$1==n {print $3}' "$W/results" | sort -n | tail -1; }
mp=$(median pull); mc=$(median copy); mi=$(median import)
two=$(echo "$mc + $mi" | bc -l)
echo "median: pull $mp s, two-step $(printf %.2f "$two") s (copy $mc + import $mi); two-step / pull = $(echo "$two / $mp" | bc -l | cut -c1-5)x"
echo "pull content rate: $(echo "$bytes / 1048576 / $mp" | bc -l | cut -c1-6) MB/s of tar; disk: $dd_rate"
echo "peak RSS: pull $(( $(maxrss pull) / 1024 )) MB, import $(( $(maxrss import) / 1024 )) MB, skopeo $(( $(maxrss copy) / 1024 )) MB (target < 300 MB)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
