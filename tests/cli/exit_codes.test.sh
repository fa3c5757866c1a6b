#!/usr/bin/env bash
# Exit codes: src/cli/exit_codes.h is the one table; docs/cli.md mirrors it,
# --help and the man pages print it; and every command exits with the code the
# table gives for one bad input of its own (bad option value: 2, malformed or
# missing file: 3, negative verdict: 1).
source "$SRC/tests/lib.sh"
B=$BOOTSEAL
cd "$TMP"

# The table: header rows vs docs/cli.md's rows.
header=$(python3 - "$SRC/src/cli/exit_codes.h" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
consts = dict((n, v) for n, v in re.findall(r'constexpr int (kExit\w+) = (\d+);', s))
for name, meaning in re.findall(r'\{(kExit\w+), "([^"]*)"\}', s):
    print(f"{consts[name]}|{meaning}")
PY
)
docs=$(awk '/^## Exit codes/{t=1; next} t && /^## /{t=0} t && /^\| [0-9]+ \|/' "$SRC/docs/cli.md" |
       sed -E 's/^\| ([0-9]+) \| (.*) \|$/\1|\2/')
[ "$(wc -l <<<"$header")" -ge 6 ] && pass || fail "could not read the table from exit_codes.h: $header"
check_eq "docs/cli.md exit code table = src/cli/exit_codes.h" "$header" "$docs"
foot=$("$B" --help)
page=$(LC_ALL=C.UTF-8 MANWIDTH=1000 man -l <("$B" man) 2>/dev/null | sed 's/^ *//' | tr -s ' ')
while IFS='|' read -r code meaning; do
  grep -qF "$code $meaning" <<<"$foot" && pass || fail "--help's footer lacks '$code $meaning'"
  grep -qxF -- "$code $meaning" <<<"$page" && pass || fail "bootseal(1) EXIT STATUS lacks '$meaning'"
done <<<"$header"

# Inputs.
printf 'not a pe, not erofs, not cpio, not pem\n' >junk
mkdir -p tree && echo x >tree/f
"$B" composefs mkfs tree good.img
# A corrupt EROFS header: the superblock's block-size byte (offset 1024 + 12) is garbage.
cp good.img badhdr.img && printf '\x63' | dd of=badhdr.img bs=1 seek=$((1024 + 12)) conv=notrunc status=none
"$B" -q repo init --repo repo >/dev/null
"$B" -q keys generate --dir keys >/dev/null
# A key set whose files are all junk (malformed db.key).
mkdir junkkeys && for f in PK KEK db; do cp junk junkkeys/$f.key; cp junk junkkeys/$f.crt; cp junk junkkeys/$f.auth; done
# An OCI layout whose layer blob is corrupt (its bytes no longer match its digest).
python3 - ocibad <<'PY'
import hashlib, io, json, os, sys, tarfile
d = sys.argv[1]; os.makedirs(f"{d}/blobs/sha256")
def blob(b):
    h = hashlib.sha256(b).hexdigest(); open(f"{d}/blobs/sha256/{h}", "wb").write(b); return h, len(b)
t = io.BytesIO()
with tarfile.open(fileobj=t, mode="w", format=tarfile.PAX_FORMAT) as tf:
    i = tarfile.TarInfo("etc/motd"); data = b"hello\n" * 200; i.size = len(data); tf.addfile(i, io.BytesIO(data))
layer = t.getvalue(); lh, ll = blob(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
      "diff_ids": ["sha256:" + lh]}, "config": {}}).encode(); ch, cl = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + ch, "size": cl},
      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + lh, "size": ll}]}).encode()
mh, ml = blob(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": "sha256:" + mh, "size": ml, "annotations": {"org.opencontainers.image.ref.name": "t"}}]},
          open(f"{d}/index.json", "w"))
open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
b = bytearray(layer); b[600] ^= 0xff; open(f"{d}/blobs/sha256/{lh}", "wb").write(b)
PY
# A repository with one image whose object is corrupt: `repo fsck` exists to check.
"$B" -q repo init --repo badrepo >/dev/null
"$B" -q image import --repo badrepo --ref t dir:tree >/dev/null
obj=$(find badrepo -path '*/objects/*' -type f | head -1)
chmod u+w "$obj" && printf 'tampered' > "$obj"

# code|command  (one row per command; every command --help lists must have one)
rows=(
  "3|verity digest nonexistent"
  "2|verity digest --hash-alg md5 junk"
  "2|verity digest --block-size 1000 junk"
  "3|verity measure nonexistent"
  "3|verity enable nonexistent"
  "3|composefs mkfs nonexistent out.img"
  "2|composefs mkfs --format v9 tree out.img"
  "3|composefs info ls junk"
  "3|composefs info ls badhdr.img"
  "3|composefs scan nonexistent"
  "3|uki build --linux nonexistent --output u.efi"
  "3|uki inspect junk"
  "3|uki addon --cmdline x --stub nonexistent --output a.efi"
  "3|pcr predict junk"
  "2|pcr predict --bank md5 junk"
  "3|pcr sign --private-key junk junk"
  "2|keys generate --key-type dsa --dir k2"
  "3|keys inspect junk"
  "3|sign --key junk --cert junk junk"
  "3|verify --cert junk junk"
  "3|unsign junk"
  "1|karg parse composefs=zz"
  "2|karg parse --hash md5 composefs=zz"
  "2|karg format zz"
  "3|initrd build --kernel-modules-from nonexistent -o i.img"
  "3|initrd list junk"
  "2|disk create --image x --keys keys -o d.raw --size 12X"
  "3|disk assemble --esp nonexistent --root nonexistent -o d.raw"
  "3|status --repo nonexistent --esp nonexistent"
  "3|upgrade --sysroot nonexistent --esp nonexistent"
  "3|switch dir:nonexistent --sysroot nonexistent --esp nonexistent"
  "3|rollback --sysroot nonexistent --esp nonexistent"
  "3|gc --sysroot nonexistent --esp nonexistent"
  "3|finalize --sysroot nonexistent --esp nonexistent"
  "2|repo init --repo r2 --format v9"
  "3|repo fsck --repo nonexistent"
  "3|repo gc --repo nonexistent"
  "3|repo ls --repo nonexistent"
  "3|repo tag --repo repo new nonexistent"
  "3|repo untag --repo nonexistent x"
  "3|image import --repo repo oci:nonexistent"
  "2|image import --repo repo --xattrs none dir:tree"
  "3|image ls --repo nonexistent"
  "2|image pull --repo repo --retry-times x docker://127.0.0.1:1/x"
  "3|image push oci:nonexistent docker://127.0.0.1:1/x"
  "3|seal oci:nonexistent --keys keys -o oci:sealed:x"
  "2|image digest --format v9 dir:tree"
  "3|image match-uki junk dir:tree"
  "3|image diff dir:nonexistent dir:tree"
  "3|image diff-size oci:nonexistent oci:nonexistent"
  "3|rechunk --repo repo --output oci:out oci:nonexistent"
  "2|rechunk --repo repo --max-layers 0 --output oci:out dir:tree"
  "3|vm run nonexistent"
  "3|tpm enroll nonexistent --tpm2-device swtpm:host=127.0.0.1,port=1"
  "3|tpm unlock nonexistent --test"
  "3|tpm status nonexistent"
  "3|tpm wipe nonexistent --all-tpm"
  "2|tpm srk-public-key --tpm2-device frob:"
  "2|help frobnicate"
  "2|man frobnicate"
  "2|completion fish"
  # A bad option value (2) and a malformed or wrong file (3) for every verb that
  # takes one; a check only where a verification was asked for (1).
  "2|verity digest --salt zz junk"
  "2|verity enable --hash-alg md5 junk"
  "3|composefs mkfs --from-file junk out.img"
  "2|composefs info frob junk"
  "3|composefs scan junk"
  "2|uki build --linux junk --pcr-banks md5 --output u.efi"
  "3|uki build --linux junk --stub junk --output u.efi"
  "2|uki addon --output a.efi"
  "2|pcr sign --bank md5 --private-key junk junk"
  "3|pcr sign --private-key junk --linux junk"
  "3|keys generate --dir k3 --add-db-cert junk"
  "2|keys generate --dir k4 --timestamp x"
  "3|keys generate --dir k5 --pk-key junk --pk-cert junk"
  "2|keys generate --dir k6 --pk-key junk"
  "2|sign --cert junk junk"
  "3|sign --key keys/db.key --cert keys/db.crt junk"
  "2|sign --prepare-offline-signing --cert keys/db.crt junk"
  "3|sign --cert keys/db.crt --signed-data junk --signed-data-signature junk junk"
  "2|initrd build --arch sparc --no-modules -o i.img"
  "3|initrd build --no-modules --init nonexistent -o i.img"
  "3|disk create --image x --keys junkkeys -o d.raw"
  "2|disk create --image x --keys keys -o d.raw --root-fs btrfs"
  "2|disk assemble --esp tree --root tree -o d.raw --size 12X"
  "2|status --format frob --repo nonexistent --esp nonexistent"
  "2|upgrade --boot-tries x --sysroot nonexistent --esp nonexistent"
  "2|upgrade --cmdline x --sysroot nonexistent --esp nonexistent"
  "2|switch dir:tree --xattrs none --sysroot nonexistent --esp nonexistent"
  "3|repo init --repo junk"
  "1|repo fsck --repo badrepo"
  "3|image import --repo repo oci-archive:junk"
  "3|image import --repo repo oci:ocibad:t"
  "3|image digest oci:ocibad:t"
  "3|image digest oci-archive:junk"
  "2|image push oci:tree oci:other"
  "4|image push dir:tree docker://127.0.0.1:1/x"
  "2|image pull --repo repo notaregistry"
  "2|vm run --accel frob junk"
  "2|vm run --timeout 0 junk"
  "2|tpm enroll junk --pcrs 99"
  "2|tpm wipe junk"
)
covered=" "
for row in "${rows[@]}"; do
  want=${row%%|*} cmd=${row#*|}
  rc=0
  # shellcheck disable=SC2086
  timeout 120 "$B" $cmd >out 2>err </dev/null || rc=$?
  check_eq "bootseal $cmd: exit code ($(head -c 300 err))" "$want" "$rc"
  [ "$(wc -l <err)" -ge 1 ] && pass || fail "bootseal $cmd: no error line"
  set -- $cmd; covered+="$1 $1/${2:-} "
done
subcommands() { "$B" "$@" --help | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1} s && /^$/{s=0}'; }
for top in $(subcommands); do
  subs=$(subcommands "$top")
  if [ -z "$subs" ]; then
    [[ $covered == *" $top "* ]] && pass || fail "no bad-input row for 'bootseal $top'"
  else
    for s in $subs; do [[ $covered == *" $top/$s "* ]] && pass || fail "no bad-input row for 'bootseal $top $s'"; done
  fi
done
finish
