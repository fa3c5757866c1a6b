#!/usr/bin/env bash
# One spelling per concept across verbs (docs/cli.md "Option names"): the other
# spelling is a hidden alias that does the same, absent from --help.
source "$SRC/tests/lib.sh"
B=$BOOTSEAL
cd "$TMP"
head -c 10000 /dev/urandom >f
mkdir -p tree/usr/bin tree/boot tree/sysroot && echo x >tree/usr/bin/a

same() {  # same WHAT "ARGS A" "ARGS B": both spellings give the same output and exit 0
  local a b
  # shellcheck disable=SC2086
  a=$("$B" $2) || { fail "$1: bootseal $2 failed"; return; }
  # shellcheck disable=SC2086
  b=$("$B" $3) || { fail "$1: bootseal $3 failed"; return; }
  [ -n "$a" ] && check_eq "$1" "$a" "$b"
}
hidden() {  # hidden OPTION COMMAND...: OPTION is accepted but not in --help
  if "$B" "${@:2}" --help | grep -qE -- "(^| |,)$1( |,|=|$)"; then fail "'${*:2} --help' shows the alias $1"; else pass; fi
}

same "verity digest --hash" "verity digest --hash-alg sha512 f" "verity digest --hash sha512 f"
hidden --hash verity digest
same "image digest --hash-alg" "image digest --hash sha256 dir:tree" "image digest --hash-alg sha256 dir:tree"
hidden --hash-alg image digest
same "karg parse --hash-alg" "karg parse --hash sha256 composefs=$(printf '%064d' 1)" \
  "karg parse --hash-alg sha256 composefs=$(printf '%064d' 1)"
"$B" repo init --repo r --hash-alg sha256 >/dev/null && grep -q sha256 r/composefs/meta.json && pass || fail "repo init --hash-alg"
"$B" composefs mkfs --hash-alg sha512 --print-digest-only tree >/dev/null && pass || fail "composefs mkfs --hash-alg"
printf 'ID=x\n' >osrel
same "pcr predict --pcr-banks" "pcr predict --linux=f --osrel=osrel --bank sha256 --bank sha1" \
  "pcr predict --linux=f --osrel=osrel --pcr-banks sha256,sha1"
same "pcr predict --os-release/--devicetree" "pcr predict --linux=f --osrel=osrel --dtb=f" \
  "pcr predict --linux=f --os-release=osrel --devicetree=f"
same "pcr predict --phases" "pcr predict --linux=f --phase enter-initrd" "pcr predict --linux=f --phases enter-initrd"
hidden --pcr-banks pcr predict
hidden --os-release pcr predict
hidden --dtb uki build
hidden --bank uki build
hidden --osrel uki build

# uki build: systemd-measure's spellings build the same bytes as ukify's.
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
if [ -f "$STUB" ] && [ -f "$PAY/kernel/vmlinuz" ]; then
  "$B" uki build --stub "$STUB" --linux "$PAY/kernel/vmlinuz" --os-release @osrel --devicetree f --uname 6.1 -o a.efi
  "$B" uki build --stub "$STUB" --linux "$PAY/kernel/vmlinuz" --osrel @osrel --dtb f --uname 6.1 -o b.efi
  cmp -s a.efi b.efi && pass || fail "uki build --osrel/--dtb differ from --os-release/--devicetree"
else
  fail "boot payloads missing (tools/fetch-payloads)"
fi

# Scratch directories: --work-dir/--keep-work-dir, with the old spellings accepted.
for o in --work-dir=w --workdir=w --keep-work-dir --keep-work --keep-workdir; do
  rc=0; "$B" disk create --image x --keys k -o d.raw --size 12X $o 2>err || rc=$?
  check_eq "disk create $o accepted (fails on --size)" "2 --size" "$rc $(grep -o -- '--size' err | head -1)"
  rc=0; "$B" vm run nonexistent.raw $o 2>err || rc=$?
  grep -q "unknown option" err && fail "vm run $o: $(cat err)" || pass
done
hidden --workdir vm run
hidden --keep-work disk create
"$B" vm run --help | grep -q -- "--work-dir" && pass || fail "vm run --help lacks --work-dir"
finish
