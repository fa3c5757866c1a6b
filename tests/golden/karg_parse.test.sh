#!/bin/bash
# Every case of composefs-rs's karg parser vectors through `bootseal karg parse`.
set -euo pipefail
V="$SRC/tests/data/vectors/composefs-rs/karg_parse.expected"
[ -f "$V" ] || { echo "missing $V"; exit 1; }
n=0; fail=0
while IFS= read -r line; do
  alg=$(cut -f1 <<<"$line"); cmdline=$(cut -f2 <<<"$line"); want=$(cut -f3 <<<"$line")
  got=$("$BOOTSEAL" karg parse --hash "$alg" -- "$cmdline" 2>/dev/null) || true
  case "$want" in
    error) [[ "$got" == error:* ]] || { echo "FAIL [$alg] [$cmdline]: want error, got '$got'"; fail=1; } ;;
    *) [ "$got" = "$want" ] || { echo "FAIL [$alg] [$cmdline]: want '$want', got '$got'"; fail=1; } ;;
  esac
  n=$((n+1))
done < "$V"
echo "$n cases"
[ "$n" -ge 20 ] && [ $fail = 0 ]
# exit codes: malformed -> 1, none -> 0
set +e
"$BOOTSEAL" karg parse --hash sha256 "composefs=zz" >/dev/null 2>&1; [ $? = 1 ] || { echo "malformed karg must exit 1"; exit 1; }
"$BOOTSEAL" karg parse "quiet" >/dev/null || { echo "none must exit 0"; exit 1; }
# format round trip
d=$(printf 'ab%.0s' $(seq 64))
k=$("$BOOTSEAL" karg format --version v1 "$d")
[ "$k" = "composefs.digest=v1-sha512-12:$d" ] || { echo "format v1: $k"; exit 1; }
[ "$("$BOOTSEAL" karg parse "$k")" = "V1 secure $d" ] || exit 1
k=$("$BOOTSEAL" karg format --insecure "$d")
[ "$k" = "composefs=?$d" ] || { echo "format v2: $k"; exit 1; }
echo ok
