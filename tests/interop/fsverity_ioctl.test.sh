#!/usr/bin/env bash
# verity measure/enable: on a filesystem without fs-verity the error says so
# (this build host's kernel has none; the VM tests cover the real path).
source "$SRC/tests/lib.sh"
cd "$TMP"
echo data > f
if "$BOOTSEAL" verity measure f >/dev/null 2>"$TMP/e"; then
  echo "fs-verity measure succeeded here: the kernel supports it; this test covers the unsupported path"
  pass
else
  rc=$?
  if grep -q "does not support fs-verity" "$TMP/e"; then
    check_eq "exit code unsupported" 4 $rc
  else
    # A verity-capable filesystem on which the file has no verity.
    grep -q "fs-verity is not enabled" "$TMP/e" && pass || fail "measure: unexpected error: $(cat "$TMP/e")"
  fi
fi
rc=0; "$BOOTSEAL" verity enable f 2>"$TMP/e" || rc=$?
if [ $rc -ne 0 ]; then
  grep -qE "does not support fs-verity|enable fs-verity on f" "$TMP/e" && pass || fail "enable: unexpected error: $(cat "$TMP/e")"
  check_eq "enable error is one line" 1 "$(wc -l < "$TMP/e")"
else
  pass
fi
expect_error "measure missing" "nope: No such file" "$BOOTSEAL" verity measure nope
expect_error "enable bad block size" "invalid block size" "$BOOTSEAL" verity enable --block-size 1000 f
finish
