#!/bin/bash
# Crash safety: SIGKILL an import at random moments (>= 50 trials); after
# each, `repo fsck` must be clean (no partial object, image or dangling
# reference is ever visible), and the final import completes with the right
# digest.
source "$SRC/tests/lib.sh"
need python3
PY="python3 $SRC/tests/interop/oci_layout.py"
TRIALS=${BOOTSEAL_CRASH_TRIALS:-60}
cd "$TMP"
for l in 1 2 3; do
  python3 - $l > l$l.json <<'P'
import json, random, sys
l = int(sys.argv[1]); r = random.Random(l)
e = [] if l > 1 else [{"path": "usr", "type": "dir"}, {"path": "boot", "type": "dir"}, {"path": "sysroot", "type": "dir"}]
e.append({"path": f"usr/d{l}", "type": "dir"})
for i in range(500):
    e.append({"path": f"usr/d{l}/f{i}", "size": r.choice([10, 100, 3000, 20000])})
print(json.dumps(e))
P
  $PY layer l$l.json l$l.tar
done
$PY image img --tag t --gzip l1.tar l2.tar l3.tar
want=$("$BOOTSEAL" image digest oci:img:t)
export BOOTSEAL_REPO=$TMP/r
"$BOOTSEAL" -q repo init
# How long a cold import takes, to spread the kills over it.
"$BOOTSEAL" -q repo init --repo "$TMP/probe"
start=$(date +%s%N)
"$BOOTSEAL" -q image import --repo "$TMP/probe" oci:img:t >/dev/null 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "full import: ${ms} ms"
killed=0
for t in $(seq 1 "$TRIALS"); do
  # Over the first half of a cold import: resumed imports are faster, and a
  # kill after the end proves nothing.
  delay=$(( RANDOM % (ms / 2 + 1) ))
  "$BOOTSEAL" -q image import --ref crash oci:img:t >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $((delay % 1000)))"
  [ $delay -ge 1000 ] && sleep $((delay / 1000))
  if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
  wait $pid 2>/dev/null || true
  if ! "$BOOTSEAL" repo fsck > fsck.out 2>&1; then
    fail "trial $t (killed after ${delay} ms): fsck: $(head -3 fsck.out)"
    break
  fi
  pass
  # Every visible ref names a complete image.
  if "$BOOTSEAL" repo ls | grep -q '^crash '; then
    check_eq "trial $t: ref names the right image" "$want" "$("$BOOTSEAL" repo ls | awk '$1=="crash"{print $2}')"
  fi
  # After a completed import, start over so the next kill lands in a cold
  # import; otherwise keep the partial state (objects without records), so
  # kills also hit resumed imports.
  if "$BOOTSEAL" repo ls | grep -q '^crash '; then
    "$BOOTSEAL" -q repo untag crash; "$BOOTSEAL" -q repo gc >/dev/null
  elif [ $((t % 7)) -eq 0 ]; then
    "$BOOTSEAL" -q repo gc >/dev/null
    "$BOOTSEAL" repo fsck >/dev/null 2>&1 && pass || fail "trial $t: fsck after gc of a partial import"
  fi
done
echo "$killed of $TRIALS imports killed before they finished"
[ "$killed" -ge $((TRIALS / 3)) ] && pass || fail "only $killed kills landed during an import"
check_eq "final import" "$want" "$("$BOOTSEAL" -q image import --ref crash oci:img:t 2>/dev/null)"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after the final import"
[ -z "$(find r/composefs -name '.tmp-*')" ] && pass || fail "temporary files left behind"
finish
