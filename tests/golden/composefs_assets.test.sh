#!/usr/bin/env bash
# containers/composefs v1.0.8's own test assets (tests/data/vectors/composefs-assets):
# every accepted dumpfile gives an image whose SHA-256 equals the reference's pin
# (mkcomposefs --from-file, version from NAME.version), and every should-fail-* is
# refused with one line and a non-zero exit.
. "$SRC/tests/lib.sh"
A="$SRC/tests/data/vectors/composefs-assets"
n=0
for sha in "$A"/*.sha256; do
  f=${sha%.sha256}; name=$(basename "$f")
  ver=()
  [ -f "$f.version" ] && ver=(--min-version "$(cat "$f.version")" --max-version "$(cat "$f.version")")
  case $f in *.gz) zcat "$f" > "$TMP/in.dump" ;; *) cp "$f" "$TMP/in.dump" ;; esac
  if "$BOOTSEAL" composefs mkfs "${ver[@]}" --from-file "$TMP/in.dump" "$TMP/img" 2>"$TMP/err"; then
    check_eq "$name: image sha256" "$(cat "$sha")" "$(sha256sum "$TMP/img" | cut -d' ' -f1)"
  else
    fail "$name: refused: $(cat "$TMP/err")"
  fi
  n=$((n + 1))
done
for f in "$A"/should-fail-*.dump; do
  name=$(basename "$f")
  rc=0; "$BOOTSEAL" composefs mkfs --from-file "$f" "$TMP/bad" 2>"$TMP/err" || rc=$?
  if [ $rc -eq 0 ]; then fail "$name: accepted"; continue; fi
  check_eq "$name: one error line" 1 "$(wc -l < "$TMP/err")"
  [ ! -e "$TMP/bad" ] && pass || fail "$name: left an image behind"
  n=$((n + 1))
done
[ "$n" -ge 25 ] || fail "only $n assets found"
finish
