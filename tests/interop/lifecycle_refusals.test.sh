#!/usr/bin/env bash
# Upgrade safety checks (issue 15), each refusal with nothing on the ESP or in
# state/ changed: a UKI whose Authenticode signature does not chain to the db
# (the ESP's enrolled db.auth by default, or --db CERT), no room on the ESP or
# the root (BOOTSEAL_TEST_FREE_ESP/_ROOT stand in for a full filesystem), the
# same image as the current one ("No changes"), and bad input (an oci-archive
# that is not one, an unknown transport, a missing sysroot).
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
B() { "$BOOTSEAL" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

mkroot v1 1
cp -a v1 v2; printf 'ID=tiny\nVERSION_ID=2\n' > v2/usr/lib/os-release; echo "app v2" > v2/usr/bin/app
B -q keys generate --dir keys >/dev/null
B -q keys generate --dir other --name other --subject "CN=not in db" >/dev/null
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$TMP/v1" >/dev/null 2>&1
B -q disk create --repo repo --image v1 --keys keys -o disk.raw --work-dir w --keep-work >/dev/null
S=(--sysroot "$TMP/w/root" --esp "$TMP/w/esp")
snap() { (cd w && find esp root/state -printf '%p %s %l\n' | sort) > "$1"; }
snap before

# --- trust: the ESP's loader/keys/auto/db.auth is the db by default
expect_error "UKI signed by a key not in db" "does not chain to a certificate in the db enrolled from" \
  B switch "${S[@]}" --keys other "dir:$TMP/v2"
expect_error "--db names another certificate" "does not chain to a certificate in --db" \
  B switch "${S[@]}" --keys keys --db other/db.crt "dir:$TMP/v2"
mv w/esp/loader/keys keys.esp
expect_error "no db at all" "no db to check the UKI against" B switch "${S[@]}" --keys keys "dir:$TMP/v2"
mv keys.esp w/esp/loader/keys
# --- space
BOOTSEAL_TEST_FREE_ESP=4096 expect_error "ESP full" "the ESP has 4 KiB free.*the UKI needs" B switch "${S[@]}" --keys keys "dir:$TMP/v2"
BOOTSEAL_TEST_FREE_ROOT=1048576 expect_error "root full" "the root filesystem has 1 MiB free" B switch "${S[@]}" --keys keys "dir:$TMP/v2"
# --- bad input
echo "not a tar" > bad.tar
expect_error "oci-archive that is not one" "bad.tar" B switch "${S[@]}" --keys keys "oci-archive:$TMP/bad.tar"
expect_error "unknown transport" "docker://|transport" B switch "${S[@]}" --keys keys "docker://example.org/x:1"
expect_error "missing sysroot" "no composefs/meta.json" B switch --sysroot "$TMP/nowhere" --esp "$TMP/w/esp" --keys keys "dir:$TMP/v2"
snap after
cmp -s before after && pass || fail "a refused upgrade changed the ESP or state: $(diff before after | head -5)"

# --- the same image as the default: "No changes", nothing written
check_eq "same digest" "No changes in: dir:$TMP/v1" "$(B switch "${S[@]}" --keys keys "dir:$TMP/v1" 2>/dev/null | sed 's/ (.*//')"
snap after2
cmp -s before after2 && pass || fail "No changes wrote something: $(diff before after2 | head -5)"

# --- the explicit --db accepts what it names
B -q keys generate --dir keys2 --name k2 --subject "CN=second db" >/dev/null
B --json switch "${S[@]}" --keys keys2 --db keys2/db.crt "dir:$TMP/v2" > ok.json 2>/dev/null || fail "--db with the signing certificate"
check_eq "staged with --db" "True" "$(jget ok.json 'str(d["staged"])')"
finish
