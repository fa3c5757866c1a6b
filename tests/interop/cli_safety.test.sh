#!/usr/bin/env bash
# Issue 13 part A, "Correctness and safety": a user's --cmdline carrying a composefs
# karg is refused (disk create, upgrade/switch --keys) and nothing is written; bytes
# that are not UTF-8 never crash JSON output (verity digest, uki inspect, initrd list,
# image import/ls of such a tree) and follow docs/cli.md's rule (Latin-1 reading +
# <key>_b64); relative local sources are stored absolute and an unreadable origin is
# named; image import and image digest agree on a tree without /boot or /sysroot;
# disk create writes secure-boot-enroll if-safe unless told otherwise.
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox cpio python3
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
export MTOOLS_SKIP_CHECK=1
B() { "$BOOTSEAL" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

mkroot good
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref good "dir:$TMP/good" >/dev/null 2>&1
B -q keys generate --dir keys >/dev/null
H=$(printf 'ab%.0s' $(seq 64))

# --- (a) the composefs karg is bootseal's own
for bad in "composefs.digest=v1-sha512-12:$H" "quiet composefs=$H" '"composefs=?'"$H"'"' "composefs.hash=sha256"; do
  expect_error "disk create --cmdline '$bad'" "your --cmdline carries '.*composefs" \
    B disk create --repo repo --image good --keys keys -o bad.raw --cmdline "$bad"
  [ ! -e bad.raw ] && [ ! -e bad.raw.uki.efi ] && pass || fail "disk create --cmdline '$bad' left a file"
  expect_error "upgrade --keys --cmdline '$bad'" "your --cmdline carries '.*composefs" \
    B upgrade --sysroot "$TMP/nosys" --esp "$TMP/noesp" --keys keys --cmdline "$bad"
  expect_error "switch --keys --cmdline '$bad'" "your --cmdline carries '.*composefs" \
    B switch --sysroot "$TMP/nosys" --esp "$TMP/noesp" --keys keys --cmdline "$bad" "dir:$TMP/good"
done
expect_error "upgrade --cmdline without --keys" "cmdline needs --keys" \
  B upgrade --sysroot "$TMP/nosys" --esp "$TMP/noesp" --cmdline quiet

# --- (b) bytes that are not UTF-8
mkdir -p nu
printf 'x' > "nu/$(printf 'f\xff\xfe')"
B --json verity digest "nu/$(printf 'f\xff\xfe')" > vd.json && pass || fail "--json verity digest of a non-UTF-8 name"
check_eq "verity digest: Latin-1 reading" "nu/fÿþ" "$(jget vd.json 'd[0]["file"]')"
check_eq "verity digest: _b64 companion" "6e752f66fffe" "$(jget vd.json '__import__("base64").b64decode(d[0]["file_b64"]).hex()')"
# a UKI whose .cmdline and .osrel are not UTF-8
printf 'quiet \xff\xfe root=x' > cmdline.bin
printf 'ID=t\nPRETTY_NAME="\xe9t\xe9"\n' > osrel.bin
B -q uki build --linux "$PAY/kernel/vmlinuz" --stub "$STUB" --cmdline @cmdline.bin --os-release @osrel.bin \
  --uname 1 --output nu.efi && pass || fail "uki build with non-UTF-8 sections"
B --json uki inspect nu.efi > ui.json && pass || fail "--json uki inspect with a non-UTF-8 .cmdline"
check_eq "uki inspect cmdline_b64" "$(od -An -tx1 cmdline.bin | tr -d ' \n')" "$(jget ui.json '__import__("base64").b64decode(d["cmdline_b64"]).hex()')"
# an initrd with a non-UTF-8 name
(cd nu && printf '%s\n' "$(printf 'f\xff\xfe')" | cpio -o -H newc --quiet > ../nu.cpio)
B --json initrd list nu.cpio > il.json && pass || fail "--json initrd list with a non-UTF-8 name"
check_eq "initrd list path_b64" "66fffe" "$(jget il.json '[__import__("base64").b64decode(e["path_b64"]).hex() for e in d if "path_b64" in e][0]')"
# image import of a dir: whose path and contents have non-UTF-8 names, without --json
NUD="$TMP/$(printf 'tree\xff')"
cp -a good "$NUD"
printf 'y' > "$NUD/etc/$(printf 'n\xe9')"
B -q image import --repo repo --ref nu "dir:$NUD" > nu.digest 2>nu.err && pass || fail "image import of a non-UTF-8 dir: $(cat nu.err)"
check_eq "import digest = image digest" "$(cat nu.digest)" "$(B -q image digest --repo repo "dir:$NUD" 2>/dev/null)"
B --json image ls --repo repo > ls.json && pass || fail "--json image ls with a non-UTF-8 source"
check_eq "image ls source_b64 keeps the bytes" "dir:$NUD" "$(jget ls.json '[__import__("base64").b64decode(e["source_b64"]).decode("latin-1") for e in d if "source_b64" in e][0]' | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.read().rstrip("\n").encode("latin-1"))')"
B -q repo fsck --repo repo >/dev/null && pass || fail "fsck after the non-UTF-8 import"

# --- (e) relative sources are stored absolute
mkdir -p sub && cp -a good sub/rel && echo rel > sub/rel/etc/rel
(cd sub && B -q image import --repo ../repo --ref rel dir:rel >/dev/null 2>&1)
check_eq "relative dir: stored absolute" "dir:$TMP/sub/rel" "$(B --json image ls --repo repo | jget /dev/stdin '[e["source"] for e in d if "rel" in e["refs"]][0]')"
(cd sub && B -q disk create --repo ../repo --image dir:rel --keys ../keys -o ../rel.raw --work-dir ../w --keep-work >/dev/null)
DR=$(B -q image digest --repo repo rel)
grep -qx "container-image-reference=dir:$TMP/sub/rel" "w/root/state/deploy/$DR/$DR.origin" && pass || fail "origin not absolute: $(cat w/root/state/deploy/$DR/$DR.origin)"
mtype -i "rel.raw@@$(( $(sfdisk --json rel.raw | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') * 512 ))" \
  ::/loader/loader.conf 2>/dev/null | grep -qx "secure-boot-enroll if-safe" && pass || fail "disk create: if-safe by default"
mv sub/rel sub/gone
expect_error "unreadable origin named" "read from the origin file $TMP/w/root/state/deploy/$DR/$DR.origin" \
  B upgrade --sysroot "$TMP/w/root" --esp "$TMP/w/esp"
expect_error "secure-boot-enroll checked" "secure-boot-enroll" \
  B disk create --repo repo --image good --keys keys -o x.raw --secure-boot-enroll always

# --- (c) keys generate --microsoft: Microsoft's 2011 UEFI CAs (extracted from OVMF_VARS_4M.ms.fd here)
need virt-fw-vars cert-to-efi-sig-list
"$SRC/tools/extract-ms-certs" ms >/dev/null
B -q keys generate --dir kms --microsoft --microsoft-certs ms >/dev/null && pass || fail "keys generate --microsoft"
MSG=77fa9abd-0359-4d32-bd60-28f4e78f784b
for v in "db MicrosoftCorporationUEFICA2011" "db MicrosoftWindowsProductionPCA2011" "KEK MicrosoftCorporationKEKCA2011"; do
  set -- $v
  cert-to-efi-sig-list -g "$MSG" "ms/$2.pem" "$2.esl" >/dev/null
  python3 -c 'import sys; a=open(sys.argv[1],"rb").read(); b=open(sys.argv[2],"rb").read(); sys.exit(0 if b in a else 1)' \
    "kms/$1.esl" "$2.esl" && pass || fail "$1.esl lacks efitools' list for $2 (owner $MSG)"
done
B -q keys inspect --cert kms/KEK.crt kms/db.auth >/dev/null && pass || fail "db.auth with Microsoft's CAs not signed by KEK"
check_eq "db entries" "3" "$(B --json keys inspect kms/db.esl | jget /dev/stdin 'sum(len(l["signatures"]) for l in (d["lists"] if isinstance(d,dict) else d))')"
cp -r ms msbad && cp ms/MicrosoftCorporationKEKCA2011.pem msbad/MicrosoftCorporationUEFICA2011.pem
expect_error "wrong certificate refused" "fingerprint" B keys generate --dir kbad --microsoft --microsoft-certs msbad
[ ! -e kbad/db.auth ] && pass || fail "kbad written"
if [ -f "$BUILD/share/bootseal/microsoft/MicrosoftCorporationUEFICA2011.pem" ]; then
  B -q keys generate --dir kms2 --microsoft >/dev/null && pass || fail "keys generate --microsoft from the build tree's certificates"
fi

# --- digest prefixes, temporary names, image ls rows
expect_error "short digest prefix" "at least 8 hex digits" B image digest --repo repo abc
expect_error "output in a missing directory" "create $TMP/nodir/x.dump" \
  B image digest --repo repo --dumpfile "$TMP/nodir/x.dump" good
grep -q '\.tmp' "$TMP/err" && fail "temporary name leaked: $(cat "$TMP/err")" || pass
expect_error "import of a missing oci: layout" "nope/index.json" B image import --repo repo "oci:$TMP/nope:latest"
check_eq "the source is named once" "1" "$(grep -o "oci:$TMP/nope:latest" "$TMP/err" | wc -l)"
B -q image import --repo repo --ref good-again "dir:$TMP/good" >/dev/null 2>&1
check_eq "image ls: one row per image" "1" "$(B --json image ls --repo repo | jget /dev/stdin 'len([e for e in d if "good" in e["refs"]])')"
check_eq "image ls: both references on the row" "['good', 'good-again']" "$(B --json image ls --repo repo | jget /dev/stdin '[e["refs"] for e in d if "good" in e["refs"]][0]')"

# --- (f) one rule for import and digest: a tree without /boot and /sysroot
cp -a good noboot && rm -rf noboot/boot noboot/sysroot
DI=$(B -q image import --repo repo --ref noboot "dir:$TMP/noboot" 2>/dev/null)
DD=$(B image digest "dir:$TMP/noboot" 2>dd.err) && pass || fail "image digest of a tree without /boot: $(cat dd.err)"
check_eq "import and digest agree without /boot" "$DI" "$DD"
grep -q "boot transform not applied" dd.err && pass || fail "image digest does not say the boot transform was skipped"
check_eq "digest --json transforms" "['oci']" "$(B -q --json image digest "dir:$TMP/noboot" | jget /dev/stdin 'd["transforms"]')"
check_eq "import records oci only" "['oci']" "$(B --json image ls --repo repo | jget /dev/stdin '[e["transforms"] for e in d if "noboot" in e["refs"]][0]')"
finish
