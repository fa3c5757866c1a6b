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
# the filesystem to hold the stores, default a mktemp dir), THREADS, MODES
# (default "plain dumpfile store": a subset to time only those; store runs
# last because deleting and flushing its 9 GB leaves the disk busy for a
# while, which would slow the image fsync of the modes after it).
set -euo pipefail
SRC_DIR=${1:-/usr}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BOOTSEAL=${BOOTSEAL:-$HERE/build/src/cli/bootseal}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /var/tmp/cfsbench.XXXXXX)}
mkdir -p "$WORK"
THREADS=${THREADS:-$(nproc)}
MODES=${MODES:-plain dumpfile store}
trap 'rm -rf "$WORK"' EXIT
[ -x "$BOOTSEAL" ] || { echo "build bootseal first ($BOOTSEAL)"; exit 1; }
if [ -z "${MKCOMPOSEFS:-}" ]; then
  echo "MKCOMPOSEFS not set: comparison with the reference skipped (timing bootseal only)"
fi

# once LABEL CMD...: one timed run (wall seconds, max RSS KiB) appended to
# $WORK/raw; the store is emptied first so every run copies everything.
once() {
  local label=$1; shift
  rm -rf "$WORK/store" "$WORK/out.cfs"
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null
  read -r t m < "$WORK/time"
  echo "$label $t $m" >> "$WORK/raw"
}
# summary LABEL: median time and peak RSS over its runs.
summary() {
  local label=$1 med rss times
  times=$(grep "^$label " "$WORK/raw" | awk '{print $(NF-1)}' | sort -n)
  med=$(echo "$times" | sed -n "$(( (RUNS + 1) / 2 ))p")
  rss=$(grep "^$label " "$WORK/raw" | awk '{print $NF}' | sort -n | tail -1)
  echo "$label $med $rss" >> "$WORK/results"
  printf '%-22s median %7.2f s  runs: %s  peak RSS %d MiB\n' "$label" "$med" "$(echo $times)" $((rss / 1024))
}

: > "$WORK/results"
: > "$WORK/raw"
echo "source: $SRC_DIR ($(find "$SRC_DIR" -xdev -type f 2> /dev/null | wc -l) files, $(du -sh -x "$SRC_DIR" 2> /dev/null | cut -f1)), $THREADS threads, $RUNS runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BOOTSEAL" -q composefs scan "$SRC_DIR" > "$WORK/src.dump"
# Runs alternate between the two tools so a changing machine load hits both alike.
for mode in $MODES; do
  for i in $(seq "$RUNS"); do
    case $mode in
      plain) once "bootseal_$mode" "$BOOTSEAL" -q composefs mkfs --threads "$THREADS" "$SRC_DIR" "$WORK/out.cfs" ;;
      store) once "bootseal_$mode" "$BOOTSEAL" -q composefs mkfs --threads "$THREADS" --digest-store "$WORK/store" "$SRC_DIR" "$WORK/out.cfs" ;;
      dumpfile) once "bootseal_$mode" "$BOOTSEAL" -q composefs mkfs --from-file "$WORK/src.dump" "$WORK/out.cfs" ;;
    esac
    [ -n "${MKCOMPOSEFS:-}" ] || continue
    case $mode in
      plain) once "mkcomposefs_$mode" "$MKCOMPOSEFS" --threads="$THREADS" "$SRC_DIR" "$WORK/out.cfs" ;;
      store) once "mkcomposefs_$mode" "$MKCOMPOSEFS" --threads="$THREADS" --digest-store="$WORK/store" "$SRC_DIR" "$WORK/out.cfs" ;;
      dumpfile) once "mkcomposefs_$mode" "$MKCOMPOSEFS" --from-file "$WORK/src.dump" "$WORK/out.cfs" ;;
    esac
  done
  summary "bootseal_$mode"
  [ -n "${MKCOMPOSEFS:-}" ] && summary "mkcomposefs_$mode"
done
if [ -n "${MKCOMPOSEFS:-}" ]; then
  # Same bytes?
  "$BOOTSEAL" -q composefs mkfs "$SRC_DIR" "$WORK/a.cfs"
  "$MKCOMPOSEFS" "$SRC_DIR" "$WORK/b.cfs"
  if cmp -s "$WORK/a.cfs" "$WORK/b.cfs"; then echo "images identical: yes"; else echo "images identical: NO"; fi
  echo "ratios (mkcomposefs time / bootseal time; bootseal peak RSS / mkcomposefs peak RSS):"
  for mode in $MODES; do
    read -r _ bt brss < <(grep "^bootseal_$mode " "$WORK/results")
    read -r _ mt mrss < <(grep "^mkcomposefs_$mode " "$WORK/results")
    awk -v m="$mode" -v bt="$bt" -v mt="$mt" -v br="$brss" -v mr="$mrss" \
      'BEGIN { printf "  %-9s speedup %.2fx   memory %.2fx\n", m, (bt > 0 ? mt / bt : 0), (mr > 0 ? br / mr : 0) }'
  done
fi
