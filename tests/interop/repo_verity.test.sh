#!/bin/bash
# fs-verity on repository objects and images. Where the filesystem holding
# the repository supports it, every object and image has fs-verity enabled
# with the repository's algorithm (the kernel's measured digest is its name).
# Where it does not: one warning per command, however many objects are
# written, and `--require-verity` turns it into an error that leaves no image,
# record or ref behind (fsck clean, a later import completes).
source "$SRC/tests/lib.sh"
need python3 fsverity
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
python3 - > l.json <<'P'
import json
e = [{"path": "usr", "type": "dir"}, {"path": "boot", "type": "dir"}, {"path": "sysroot", "type": "dir"}]
e += [{"path": f"usr/f{i}", "size": 100 + i * 1000} for i in range(40)]
print(json.dumps(e))
P
$PY layer l.json l.tar
$PY image img --tag t --gzip l.tar
want=$("$BOOTSEAL" image digest oci:img:t)
export BOOTSEAL_REPO=$TMP/r
"$BOOTSEAL" -q repo init
head -c 5000 /dev/urandom > probe
if fsverity enable probe 2>/dev/null; then
  echo "fs-verity supported on $TMP: checking enabled objects and images"
  check_eq "import" "$want" "$("$BOOTSEAL" -q image import --require-verity --ref a oci:img:t)"
  n=0
  for o in $(find r/composefs/objects -type f) r/composefs/images/$want; do
    name=$(echo "${o#r/composefs/*/}" | tr -d /)
    check_eq "measured digest of $o" "sha512:$name" "$(fsverity measure "$o" | cut -d' ' -f1)"
    n=$((n + 1))
  done
  [ $n -ge 40 ] && pass || fail "only $n objects measured"
else
  echo "fs-verity not supported on $TMP: checking the warning and --require-verity"
  "$BOOTSEAL" image import --ref a oci:img:t > out 2> err
  check_eq "import without verity" "$want" "$(cat out)"
  check_eq "one warning for 40 objects and an image" 1 "$(grep -c 'fs-verity not supported here' err)"
  check_eq "nothing else on stderr" 1 "$(wc -l < err)"
  "$BOOTSEAL" -q repo untag a; "$BOOTSEAL" -q repo gc >/dev/null
  expect_error "--require-verity" 'require-verity.*does not support fs-verity' \
    "$BOOTSEAL" image import --require-verity --ref b oci:img:t
  check_eq "no image after a refused import" "" "$(ls r/composefs/images)"
  check_eq "no ref after a refused import" "" "$("$BOOTSEAL" repo ls)"
  "$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after a refused import"
  check_eq "a later import completes" "$want" "$("$BOOTSEAL" -q image import --ref b oci:img:t 2>/dev/null)"
fi
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck"
finish
