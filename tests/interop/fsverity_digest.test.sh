#!/usr/bin/env bash
# bootseal verity digest == fsverity digest (fsverity-utils), byte for byte,
# across sizes at block and tree-level boundaries, algorithms, block sizes and salts.
source "$SRC/tests/lib.sh"
need fsverity
cd "$TMP"
mk() { head -c "$2" /dev/urandom > "$1"; }
: > empty
mk one 1
for bs in 1024 4096 65536; do
  mk "bs$bs-minus1" $((bs - 1)); mk "bs$bs" $bs; mk "bs$bs-plus1" $((bs + 1))
done
mk blocks128 $((128 * 4096)); mk blocks129 $((129 * 4096))
mk blocks16k $((16 * 1024)); mk blocks17k $((17 * 1024))   # sha512 at 1 KiB: 16 hashes per block
mk big100m $((100 * 1024 * 1024))
files=(empty one bs*-minus1 bs1024 bs4096 bs65536 bs*-plus1 blocks128 blocks129 blocks16k blocks17k big100m)
for alg in sha256 sha512; do
  for bs in 1024 2048 4096 8192 65536; do
    for salt in "" 00 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; do
      args=(--hash-alg "$alg" --block-size "$bs")
      [ -n "$salt" ] && args+=(--salt "$salt")
      want=$(fsverity digest "${args[@]}" "${files[@]}")
      got=$("$BOOTSEAL" verity digest "${args[@]}" "${files[@]}")
      check_eq "digest $alg bs=$bs salt=${salt:-none}" "$want" "$got"
      # The same with SHA-256 hashed by OpenSSL only (no multi-lane AVX-512 code).
      got=$(BOOTSEAL_SHA_MULTI=0 "$BOOTSEAL" verity digest "${args[@]}" "${files[@]}")
      check_eq "digest $alg bs=$bs salt=${salt:-none} (OpenSSL only)" "$want" "$got"
    done
  done
done
# Big files are hashed in windows of 256 MiB: a sparse 300 MiB file with data
# around the window boundary, at the smallest and largest block sizes.
truncate -s $((300 * 1024 * 1024 + 123)) sparse300m
for off in 0 $((256 * 1024 * 1024 - 5000)) $((300 * 1024 * 1024 - 1000)); do
  head -c 9000 /dev/urandom | dd of=sparse300m bs=1 seek="$off" conv=notrunc status=none
done
for args in "--block-size 4096" "--block-size 65536 --salt 00ff" "--hash-alg sha512 --block-size 1024"; do
  # shellcheck disable=SC2086
  check_eq "300 MiB file across windows: $args" "$(fsverity digest $args sparse300m)" "$("$BOOTSEAL" verity digest $args sparse300m)"
done
rm -f sparse300m
check_eq "--compact" "$(fsverity digest --compact one)" "$("$BOOTSEAL" verity digest --compact one)"
# --json carries the same digest.
json=$("$BOOTSEAL" --json verity digest one | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["digest"])')
check_eq "--json" "$(fsverity digest --compact one)" "$json"
# --out-descriptor writes the 256-byte descriptor whose sha256 is the digest.
"$BOOTSEAL" verity digest --out-descriptor desc blocks129 >/dev/null
check_eq "descriptor hash" "$(fsverity digest --compact blocks129)" "$(sha256sum desc | cut -d' ' -f1)"

# Bad input: one clear line, non-zero exit.
expect_error "directory" "is a directory" "$BOOTSEAL" verity digest "$TMP"
expect_error "missing file" "missing-file: No such file" "$BOOTSEAL" verity digest missing-file
expect_error "block size not a power of two" "invalid block size 3000" "$BOOTSEAL" verity digest --block-size 3000 one
expect_error "block size too small" "invalid block size 512" "$BOOTSEAL" verity digest --block-size 512 one
expect_error "block size too large" "invalid block size 131072" "$BOOTSEAL" verity digest --block-size 131072 one
expect_error "malformed salt" "invalid --salt: invalid hex character" "$BOOTSEAL" verity digest --salt zz one
expect_error "odd salt" "invalid --salt: hex string has odd length" "$BOOTSEAL" verity digest --salt abc one
expect_error "salt too long" "salt is 33 bytes" "$BOOTSEAL" verity digest --salt "$(printf '%066d' 0)" one
expect_error "bad algorithm" "hash-alg: md5 not in \{sha256,sha512\}" "$BOOTSEAL" verity digest --hash-alg md5 one
chmod 000 one
if [ "$(id -u)" -eq 0 ]; then
  expect_error "unreadable file" "one: Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$BOOTSEAL" verity digest "$TMP/one"
else
  expect_error "unreadable file" "one: Permission denied" "$BOOTSEAL" verity digest one
fi
chmod 644 one
# Exit codes: input errors are 3, usage errors 2.
rc=0; "$BOOTSEAL" verity digest missing-file 2>/dev/null || rc=$?; check_eq "exit code for missing file" 3 $rc
rc=0; "$BOOTSEAL" verity digest --no-such-option one 2>/dev/null || rc=$?; check_eq "exit code for bad option" 2 $rc
finish
