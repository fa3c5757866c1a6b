#!/usr/bin/env bash
# Benchmark: `bootseal image import` of a real multi-layer image built from
# this machine's /usr (Debian content: >= 500 MB, >= 20,000 files, 3 zstd
# layers), cold (empty repository) and warm (second import of the same
# image), against `mkcomposefs --digest-store` on the same unpacked tree.
#   bench/import.sh
# Env: BOOTSEAL (default build/src/cli/bootseal), MKCOMPOSEFS (reference binary;
# default /tmp/refcfs/mkcomposefs if present), BENCH_DIR (work dir, removed
# at the end unless given), BENCH_MB (target size, default 600).
# Prints files/s, MB/s and peak RSS of each run and the ratios the targets
# name: warm >= 10x faster than cold, peak RSS < 300 MB, cold import at least
# as fast as mkcomposefs --digest-store.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${BOOTSEAL:-build/src/cli/bootseal}")
MK=${MKCOMPOSEFS:-}
[ -z "$MK" ] && [ -x /tmp/refcfs/mkcomposefs ] && MK=/tmp/refcfs/mkcomposefs
W=${BENCH_DIR:-}
if [ -z "$W" ]; then W=$(mktemp -d /var/tmp/bootseal-import-bench.XXXXXX); trap 'rm -rf "$W"' EXIT; fi
MB=${BENCH_MB:-600}
PY="python3 $PWD/tests/interop/oci_layout.py"

echo "== building layers from /usr (target ${MB} MB) in $W"
python3 - "$W" "$MB" <<'PY'
import os, sys
w, budget = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
# Big libraries, many small data files, binaries and headers: each layer
# takes files until it has its share of the bytes and at least 7,000 files.
groups = [["usr/lib"], ["usr/share"], ["usr/include", "usr/bin", "usr/sbin", "usr/libexec", "usr/src"]]
per = budget // 3
min_files = 7000
for i, g in enumerate(groups):
    size = 0; out = []; nfiles = 0
    for top in g:
        for root, dirs, files in os.walk("/" + top):
            dirs.sort()
            rel = root[1:]
            out.append(rel)
            for f in sorted(files):
                p = os.path.join(root, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                out.append(p[1:])
                nfiles += 1
                size += st.st_size if os.path.isfile(p) and not os.path.islink(p) else 0
                if size > per and nfiles > min_files: break
            if size > per and nfiles > min_files: break
        if size > per and nfiles > min_files: break
    with open(os.path.join(w, f"list{i+1}"), "w") as fh:
        fh.write("\n".join(out) + "\n")
PY
for i in 1 2 3; do
  tar -C / --format=pax --no-recursion -cf "$W/l$i.tar" -T "$W/list$i" 2>/dev/null || true
done
# The root skeleton the boot digest needs.
mkdir -p "$W/skel/usr" "$W/skel/boot" "$W/skel/sysroot"
tar -C "$W/skel" --format=pax -cf "$W/l0.tar" usr boot sysroot
$PY image "$W/img" --tag t --zstd "$W/l0.tar" "$W/l1.tar" "$W/l2.tar" "$W/l3.tar"
rm -rf "$W/tree"; mkdir "$W/tree"
for i in 0 1 2 3; do tar -C "$W/tree" -xpf "$W/l$i.tar"; done
files=$(find "$W/tree" -type f | wc -l)
bytes=$(find "$W/tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "image: $files regular files, $((bytes / 1024 / 1024)) MB, $(du -sh "$W/img" | cut -f1) compressed"

run() {  # run NAME CMD... -> prints "NAME secs rss_kb"
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
  read -r secs rss < "$W/time"
  echo "$name $secs $rss" >> "$W/results"
  printf '%-28s %7.2f s  %8.0f files/s  %7.1f MB/s  peak RSS %5d MB\n' "$name" "$secs" \
    "$(echo "$files / $secs" | bc -l)" "$(echo "$bytes / 1048576 / $secs" | bc -l)" $((rss / 1024))
}
: > "$W/results"
sync
rm -rf "$W/repo"; "$B" -q repo init --repo "$W/repo"
run bootseal_import_cold "$B" -q image import --repo "$W/repo" --ref bench oci:"$W/img":t
run bootseal_import_warm "$B" -q image import --repo "$W/repo" --ref bench oci:"$W/img":t
rm -rf "$W/repo2"; "$B" -q repo init --repo "$W/repo2"
run bootseal_import_dir_cold "$B" -q image import --repo "$W/repo2" dir:"$W/tree"
run bootseal_digest_no_store "$B" -q image digest oci:"$W/img":t
if [ -n "$MK" ]; then
  rm -rf "$W/store"; mkdir "$W/store"
  run mkcomposefs_digest_store "$MK" --digest-store="$W/store" "$W/tree" "$W/out.cfs"
fi
get() { awk -v n="$1" '$1==n {print $2}' "$W/results"; }
cold=$(get bootseal_import_cold); warm=$(get bootseal_import_warm)
echo "warm speed-up: $(echo "$cold / $warm" | bc -l | cut -c1-6)x (target >= 10x)"
echo "peak RSS, cold import: $(( $(awk '$1=="bootseal_import_cold" {print $3}' "$W/results") / 1024 )) MB (target < 300 MB)"
if [ -n "$MK" ]; then
  mk=$(get mkcomposefs_digest_store)
  echo "mkcomposefs --digest-store / bootseal cold import: $(echo "$mk / $cold" | bc -l | cut -c1-6) (target >= 1)"
  echo "mkcomposefs --digest-store / bootseal dir import:  $(echo "$mk / $(get bootseal_import_dir_cold)" | bc -l | cut -c1-6)"
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
