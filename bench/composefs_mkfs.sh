#!/bin/bash
# Times `bootseal composefs mkfs` against the reference mkcomposefs on the same
# tree (default /usr), in three modes, RUNS runs each (median), and prints the
# ratios and peak RSS:
#   plain   : SOURCE -> image (hashing every file)
#   store   : SOURCE -> image with --digest-store (hash + copy every file)
#   dumpfile: --from-file of SOURCE's dumpfile (metadata only)
# Usage: bench/composefs_mkfs.sh [SOURCE]
# Env: BOOTSEAL (default build/src/cli/bootseal), MKCOMPOSEFS (reference binary;
# without it the comparison is skipped), RUNS (default 3), WORK (scratch dir on
# the filesystem to hold the stores, default a mktemp dir), THREADS.
set -euo pipefail
SRC_DIR=${1:-/usr}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BOOTSEAL=${BOOTSEAL:-$HERE/build/src/cli/bootseal}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /var/tmp/cfsbench.XXXXXX)}
mkdir -p "$WORK"
THREADS=${THREADS:-$(nproc)}
trap 'rm -rf "$WORK"' EXIT
[ -x "$BOOTSEAL" ] || { echo "build bootseal first ($BOOTSEAL)"; exit 1; }
if [ -z "${MKCOMPOSEFS:-}" ]; then
  echo "MKCOMPOSEFS not set: comparison with the reference skipped (timing bootseal only)"
fi

# run LABEL CMD...: median wall seconds and max RSS (KiB) over RUNS runs;
# the store is emptied before each run so every run copies everything.
run() {
  local label=$1; shift
  local times=() rss=0
  for i in $(seq "$RUNS"); do
    rm -rf "$WORK/store" "$WORK/out.cfs"
    sync
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null
    read -r t m < "$WORK/time"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "$label $med $rss" >> "$WORK/results"
  printf '%-28s median %6.2f s  runs: %s  peak RSS %d MiB\n' "$label" "$med" "${times[*]}" $((rss / 1024))
}

: > "$WORK/results"
echo "source: $SRC_DIR ($(find "$SRC_DIR" -xdev -type f 2> /dev/null | wc -l) files, $(du -sh -x "$SRC_DIR" 2> /dev/null | cut -f1)), $THREADS threads, $RUNS runs"
"$BOOTSEAL" -q composefs scan "$SRC_DIR" > "$WORK/src.dump"
run "bootseal plain" "$BOOTSEAL" -q composefs mkfs --threads "$THREADS" "$SRC_DIR" "$WORK/out.cfs"
run "bootseal store" "$BOOTSEAL" -q composefs mkfs --threads "$THREADS" --digest-store "$WORK/store" "$SRC_DIR" "$WORK/out.cfs"
run "bootseal dumpfile" "$BOOTSEAL" -q composefs mkfs --from-file "$WORK/src.dump" "$WORK/out.cfs"
if [ -n "${MKCOMPOSEFS:-}" ]; then
  run "mkcomposefs plain" "$MKCOMPOSEFS" --threads="$THREADS" "$SRC_DIR" "$WORK/out.cfs"
  run "mkcomposefs store" "$MKCOMPOSEFS" --threads="$THREADS" --digest-store="$WORK/store" "$SRC_DIR" "$WORK/out.cfs"
  run "mkcomposefs dumpfile" "$MKCOMPOSEFS" --from-file "$WORK/src.dump" "$WORK/out.cfs"
  # Same bytes?
  "$BOOTSEAL" -q composefs mkfs "$SRC_DIR" "$WORK/a.cfs"
  "$MKCOMPOSEFS" "$SRC_DIR" "$WORK/b.cfs"
  if cmp -s "$WORK/a.cfs" "$WORK/b.cfs"; then echo "images identical: yes"; else echo "images identical: NO"; fi
  echo "ratios (mkcomposefs time / bootseal time, RSS bootseal / mkcomposefs):"
  for mode in plain store dumpfile; do
    read -r _ _ bt brss < <(grep "^bootseal $mode " "$WORK/results")
    read -r _ _ mt mrss < <(grep "^mkcomposefs $mode " "$WORK/results")
    awk -v m="$mode" -v bt="$bt" -v mt="$mt" -v br="$brss" -v mr="$mrss" \
      'BEGIN { printf "  %-9s speedup %.2fx   memory %.2fx\n", m, (bt > 0 ? mt / bt : 0), (mr > 0 ? br / mr : 0) }'
  done
fi
