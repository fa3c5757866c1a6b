#!/bin/bash
# Concurrency: imports into one repository at the same time (the same image
# twice and two different images sharing a layer) all succeed, and fsck is
# clean afterwards; gc waits for running imports (shared vs exclusive lock).
source "$SRC/tests/lib.sh"
need python3
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
for l in 1 2 3; do
  python3 - $l > l$l.json <<'P'
import json, random, sys
l = int(sys.argv[1]); r = random.Random(l)
e = [] if l > 1 else [{"path": "usr", "type": "dir"}, {"path": "boot", "type": "dir"}, {"path": "sysroot", "type": "dir"}]
e.append({"path": f"usr/d{l}", "type": "dir"})
for i in range(400):
    e.append({"path": f"usr/d{l}/f{i}", "size": r.choice([10, 3000, 20000])})
print(json.dumps(e))
P
  $PY layer l$l.json l$l.tar
done
$PY image a --tag t --gzip l1.tar l2.tar
$PY image b --tag t --gzip l1.tar l3.tar
da=$("$BOOTSEAL" image digest oci:a:t)
db=$("$BOOTSEAL" image digest oci:b:t)
export BOOTSEAL_REPO=$TMP/r
"$BOOTSEAL" -q repo init
for round in 1 2 3; do
  "$BOOTSEAL" -q image import --ref a1 oci:a:t > a1.out 2>a1.err & p1=$!
  "$BOOTSEAL" -q image import --ref a2 oci:a:t > a2.out 2>a2.err & p2=$!
  "$BOOTSEAL" -q image import --ref b1 oci:b:t > b1.out 2>b1.err & p3=$!
  wait $p1 && pass || fail "round $round: import a1: $(cat a1.err)"
  wait $p2 && pass || fail "round $round: import a2: $(cat a2.err)"
  wait $p3 && pass || fail "round $round: import b1: $(cat b1.err)"
  check_eq "round $round: a1" "$da" "$(cat a1.out)"
  check_eq "round $round: a2" "$da" "$(cat a2.out)"
  check_eq "round $round: b1" "$db" "$(cat b1.out)"
  "$BOOTSEAL" repo fsck > fsck.out 2>&1 && pass || fail "round $round: fsck: $(head -3 fsck.out)"
  # Start cold again, with gc racing a new import: gc takes the lock
  # exclusively, so it runs before or after the import, never during it.
  "$BOOTSEAL" -q repo untag a1; "$BOOTSEAL" -q repo untag a2; "$BOOTSEAL" -q repo untag b1
  "$BOOTSEAL" -q image import --ref g oci:a:t > g.out 2>g.err & p4=$!
  "$BOOTSEAL" -q repo gc > /dev/null 2>gc.err & p5=$!
  wait $p4 && pass || fail "round $round: import during gc: $(cat g.err)"
  wait $p5 && pass || fail "round $round: gc during import: $(cat gc.err)"
  "$BOOTSEAL" repo fsck > fsck.out 2>&1 && pass || fail "round $round: fsck after gc race: $(head -3 fsck.out)"
  check_eq "round $round: g survives gc" "$da" "$("$BOOTSEAL" image digest g)"
  "$BOOTSEAL" -q repo untag g; "$BOOTSEAL" -q repo gc >/dev/null
done
check_eq "empty after final gc" 0 "$(find r/composefs/objects -type f | wc -l)"
finish
