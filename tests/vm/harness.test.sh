#!/bin/bash
# bootseal vm run itself: the hard timeout, cleanup of QEMU and swtpm on timeout and
# on SIGTERM/SIGINT, and bad input refused before anything starts.
set -euo pipefail
for t in qemu-system-x86_64 swtpm; do command -v $t >/dev/null || { echo "missing $t: run tools/setup"; exit 1; }; done
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
truncate -s 8M "$T/blank.img"   # nothing bootable: OVMF ends in its shell and waits

# PIDs whose command line mentions $1 (no procps needed).
leftovers() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
  done
  true
}

# 1. Timeout: exit 1, a clear message, around the asked time, nothing left running.
t0=$(date +%s)
set +e
"$BOOTSEAL" -q vm run "$T/blank.img" --tpm --workdir "$T/wd1" --timeout 10 --expect NEVER-APPEARS 2>"$T/err1"
rc=$?
set -e
t1=$(date +%s)
cat "$T/err1"
[ $rc = 1 ] || { echo "timeout: exit $rc, want 1"; exit 1; }
grep -q "timed out after 10 s" "$T/err1"
[ $((t1 - t0)) -ge 10 ] && [ $((t1 - t0)) -le 25 ] || { echo "timeout took $((t1 - t0)) s"; exit 1; }
sleep 0.5
[ -z "$(leftovers "$T/wd1")" ] || { echo "processes left after timeout:"; for p in $(leftovers "$T/wd1"); do tr '\0' ' ' < /proc/$p/cmdline; echo; done; exit 1; }

# 2. SIGTERM and SIGINT while booting: exit 1, QEMU and swtpm stopped.
for sig in TERM INT; do
  "$BOOTSEAL" -q vm run "$T/blank.img" --tpm --workdir "$T/wd-$sig" --timeout 120 --expect NEVER 2>"$T/err-$sig" &
  pid=$!
  for i in $(seq 50); do [ -n "$(leftovers "$T/wd-$sig/vars.fd")" ] && break; sleep 0.2; done
  [ -n "$(leftovers "$T/wd-$sig/vars.fd")" ] || { echo "QEMU did not start"; cat "$T/err-$sig"; exit 1; }
  sleep 1
  kill -$sig $pid
  set +e; wait $pid; rc=$?; set -e
  cat "$T/err-$sig"
  [ $rc = 1 ] || { echo "SIG$sig: exit $rc, want 1"; exit 1; }
  grep -q "interrupted by signal" "$T/err-$sig"
  sleep 0.5
  [ -z "$(leftovers "$T/wd-$sig")" ] || { echo "processes left after SIG$sig:"; for p in $(leftovers "$T/wd-$sig"); do tr '\0' ' ' < /proc/$p/cmdline; echo; done; exit 1; }
done

# 3. Bad input: clear errors, QEMU never started.
set +e
"$BOOTSEAL" -q vm run "$T/nope.img" 2>"$T/e3"; rc=$?
set -e
[ $rc = 3 ] && grep -q "nope.img" "$T/e3" || { echo "missing disk: exit $rc"; cat "$T/e3"; exit 1; }
mkdir -p "$T/keys"; : > "$T/keys/PK.crt"
set +e
"$BOOTSEAL" -q vm run "$T/blank.img" --secure-boot --enroll "$T/keys" 2>"$T/e4"; rc=$?
set -e
[ $rc = 3 ] && grep -q "KEK.crt is missing" "$T/e4" || { echo "missing keys: exit $rc"; cat "$T/e4"; exit 1; }
echo ok
