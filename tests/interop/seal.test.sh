#!/usr/bin/env bash
# bootseal seal (issue 16): an OCI image (umoci) sealed into oci:, oci-archive: and
# docker:// (docker-registry 2.8.2 on loopback). The sealed image's UKI passes
# sbverify with the db cert; its composefs.digest=v1 karg equals `bootseal image
# digest` of the source, of the sealed image and of the image pulled back from the
# registry, and composefs= equals the V2 digest; kargs.d (bootc's format, with
# match-architectures) reach the cmdline; a policy violation is refused before
# anything is signed or written; the manifest carries composefs-rs's sealing-spec
# annotations and the config containers.bootc=1; skopeo inspect reads the pushed
# image; --unsigned leaves the UKI for `bootseal sign`.
source "$SRC/tests/lib.sh"
need umoci skopeo docker-registry htpasswd python3 curl sbverify depmod
source "$SRC/tests/lib/sealed_root.sh"
source "$SRC/tests/lib/registry.sh"
cd "$TMP"
export HOME=$TMP REGISTRY_AUTH_FILE=$TMP/no-auth.json
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
uki_cmdline() { "$BOOTSEAL" --json uki inspect "$1" | jget cmdline; }
# layer_file LAYOUT TAG PATH OUT: extracts PATH from the image's top layer.
layer_file() {
  python3 - "$@" <<'PY'
import json, sys, tarfile
lay, tag, path, out = sys.argv[1:]
idx = json.load(open(f"{lay}/index.json"))
m = [e for e in idx["manifests"] if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
man = json.load(open(f"{lay}/blobs/sha256/{m['digest'][7:]}"))
top = man["layers"][-1]["digest"][7:]
with tarfile.open(f"{lay}/blobs/sha256/{top}") as t:
    open(out, "wb").write(t.extractfile(path.lstrip("/")).read())
PY
}

mkroot r
mkdir -p r/usr/lib/bootc/kargs.d
printf '# bootc kargs\nkargs = ["lockdown=integrity", "quiet"]\n' > r/usr/lib/bootc/kargs.d/10-lockdown.toml
printf 'kargs = ["arm.only=1"]\nmatch-architectures = ["aarch64"]\n' > r/usr/lib/bootc/kargs.d/20-arm.toml
printf 'not really an initramfs\n' > r/usr/lib/modules/$KVER/initramfs.img
umoci init --layout lay >/dev/null
umoci new --image lay:1 >/dev/null
umoci config --image lay:1 --architecture amd64 --os linux >/dev/null
umoci insert --image lay:1 r / >/dev/null
"$BOOTSEAL" -q keys generate --dir keys >/dev/null
V1=$("$BOOTSEAL" -q image digest oci:lay:1)
V2=$("$BOOTSEAL" -q image digest --format v2 oci:lay:1)
[ ${#V1} = 128 ] && [ ${#V2} = 128 ] && [ "$V1" != "$V2" ] && pass || fail "digests: $V1 $V2"

# --- Policy: refused before anything is signed or written.
expect_error "policy: denied karg from kargs.d" "forbidden argument lockdown=integrity \(denied by --deny-karg lockdown\)" \
  "$BOOTSEAL" seal oci:lay:1 --keys keys --kargs-from-image --deny-karg lockdown -o oci:slay:bad --uki-out bad.efi
expect_error "policy: lost lockdown" "lacks the required argument lockdown=integrity \(--require-karg\)" \
  "$BOOTSEAL" seal oci:lay:1 --keys keys --require-karg lockdown=integrity -o oci:slay:bad --uki-out bad.efi
expect_error "policy: init=/bin/sh" "forbidden argument init=/bin/sh \(denied by --policy pol.toml init\)" \
  bash -c "printf 'require = [\"lockdown\"]\ndeny = [\"init\", \"rd.break\"]\n' > pol.toml; \"$BOOTSEAL\" seal oci:lay:1 --keys keys --kargs-from-image --policy pol.toml --cmdline 'console=ttyS0 init=/bin/sh' -o oci-archive:bad.tar --uki-out bad.efi"
[ ! -e slay ] && [ ! -e bad.tar ] && [ ! -e bad.efi ] && pass || fail "a refused seal left output: $(ls)"
expect_error "composefs karg in --cmdline" "composefs" \
  "$BOOTSEAL" seal oci:lay:1 --keys keys --cmdline "composefs=$V2" -o oci:slay:bad
expect_error "no keys" "db.key in the key set" "$BOOTSEAL" seal oci:lay:1 --keys nokeys -o oci:slay:bad
expect_error "dir: source" "the source must be an OCI image" "$BOOTSEAL" seal dir:r --keys keys -o oci:slay:bad
expect_error "bad output" "expected oci:DIR" "$BOOTSEAL" seal oci:lay:1 --keys keys -o dir:x
[ ! -e slay ] && pass || fail "slay/ written by a refused seal"

# --- Seal into an OCI layout.
"$BOOTSEAL" --json seal oci:lay:1 --keys keys --kargs-from-image --require-karg lockdown=integrity --deny-karg init \
  -o oci:slay:sealed --uki-out sealed.efi > seal.json
check_eq "seal: V1 digest" "$V1" "$(jget digest_v1 < seal.json)"
check_eq "seal: V2 digest" "$V2" "$(jget digest_v2 < seal.json)"
check_eq "seal: re-imported in the tool" "$V1" "$(jget reimported_digest < seal.json)"
check_eq "re-import: image digest of the sealed image" "$V1" "$("$BOOTSEAL" -q image digest oci:slay:sealed)"
check_eq "re-import: V2 of the sealed image" "$V2" "$("$BOOTSEAL" -q image digest --format v2 oci:slay:sealed)"
"$BOOTSEAL" -q repo init --repo dev >/dev/null
check_eq "device import of the sealed image" "$V1" "$("$BOOTSEAL" -q image import --repo dev oci:slay:sealed)"
layer_file slay sealed "/boot/EFI/Linux/$KVER.efi" in-image.efi
cmp -s in-image.efi sealed.efi && pass || fail "the image's UKI differs from --uki-out"
check_eq "UKI sha256" "$(sha256sum < sealed.efi | cut -d' ' -f1)" "$(jget uki.sha256 < seal.json)"
sbverify --cert keys/db.crt in-image.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the sealed image's UKI"
cl=$(uki_cmdline in-image.efi)
case " $cl " in *" composefs.digest=v1-sha512-12:$V1 composefs=$V2 lockdown=integrity quiet console=ttyS0 "*) pass ;;
  *) fail "cmdline: $cl" ;; esac
case " $cl " in *arm.only*) fail "an aarch64-only kargs.d file reached an x86-64 cmdline: $cl" ;; *) pass ;; esac
check_eq "karg digest = image digest (bootseal karg parse)" "$V1" \
  "$("$BOOTSEAL" --json image match-uki in-image.efi oci:slay:sealed | jget karg_digest)"
python3 - slay sealed "$V1" "$V2" <<'PY' && pass || fail "sealing-spec annotations / label"
import hashlib, json, sys
lay, tag, v1, v2 = sys.argv[1:]
idx = json.load(open(f"{lay}/index.json"))
m = [e for e in idx["manifests"] if e["annotations"]["org.opencontainers.image.ref.name"] == tag][0]
raw = open(f"{lay}/blobs/sha256/{m['digest'][7:]}", "rb").read()
assert hashlib.sha256(raw).hexdigest() == m["digest"][7:]
man = json.loads(raw)
a = man["annotations"]
assert a["composefs.merged.bootable.erofs.v1.fsverity-sha512-12"] == v1, a
assert a["composefs.merged.bootable.erofs.v2.fsverity-sha512-12"] == v2, a
assert "composefs.config.fsverity-sha512-12" in man["config"]["annotations"]
cfg = json.load(open(f"{lay}/blobs/sha256/{man['config']['digest'][7:]}"))
assert cfg["config"]["Labels"]["containers.bootc"] == "1", cfg["config"]
assert len(cfg["rootfs"]["diff_ids"]) == len(man["layers"]) == 2
assert man["layers"][-1]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
assert man["layers"][-1]["digest"] == cfg["rootfs"]["diff_ids"][-1]
PY
check_eq "skopeo inspect oci: label" 1 "$(skopeo inspect --format '{{index .Labels "containers.bootc"}}' oci:slay:sealed)"
check_eq "seal again: same manifest" "$(jget manifest_digest < seal.json)" \
  "$("$BOOTSEAL" --json seal oci:lay:1 --keys keys --kargs-from-image -o oci:slay:again | jget manifest_digest)"

# --- The image's initramfs is required unless one is given.
rm r/usr/lib/modules/$KVER/initramfs.img
umoci new --image lay:noinitrd >/dev/null
umoci config --image lay:noinitrd --architecture amd64 --os linux >/dev/null
umoci insert --image lay:noinitrd r / >/dev/null
expect_error "no initramfs.img" "has no /usr/lib/modules/[^ ]+/initramfs.img .bootc images" \
  "$BOOTSEAL" seal oci:lay:noinitrd --keys keys -o oci:out2:x
[ ! -e out2 ] && pass || fail "out2/ written without an initrd"

# --- --unsigned for an offline signer, --erofs-version v1, oci-archive: output.
"$BOOTSEAL" --json seal oci:lay:1 --unsigned --erofs-version v1 -o oci-archive:unsigned.tar --uki-out unsigned.efi > u.json
check_eq "unsigned: V1 only" "" "$(jget digest_v2 < u.json)"
check_eq "unsigned: not signed" False "$(jget uki.signed < u.json)"
if sbverify --cert keys/db.crt unsigned.efi >/dev/null 2>&1; then fail "sbverify accepted the unsigned UKI"; else pass; fi
cl=$(uki_cmdline unsigned.efi)
case " $cl " in *" composefs.digest=v1-sha512-12:$V1 "*) pass ;; *) fail "v1 cmdline: $cl" ;; esac
case " $cl " in *" composefs="*) fail "--erofs-version v1 left composefs=: $cl" ;; *) pass ;; esac
"$BOOTSEAL" -q sign --key keys/db.key --cert keys/db.crt --output offline.efi unsigned.efi
sbverify --cert keys/db.crt offline.efi >/dev/null 2>&1 && pass || fail "the offline-signed UKI does not verify"
# The offline-signed UKI put into the image (--uki): it must seal this image and be signed.
expect_error "--uki: lacks the V2 karg" "lacks composefs=$V2" \
  "$BOOTSEAL" seal oci:lay:1 --uki offline.efi -o oci:slay:offline
expect_error "--uki: unsigned" "the UKI is not signed" \
  "$BOOTSEAL" seal oci:lay:1 --erofs-version v1 --uki unsigned.efi -o oci:slay:offline
expect_error "--uki: policy" "lacks the required argument lockdown" \
  "$BOOTSEAL" seal oci:lay:1 --erofs-version v1 --uki offline.efi --require-karg lockdown -o oci:slay:offline
"$BOOTSEAL" -q seal oci:lay:1 --erofs-version v1 --uki offline.efi -o oci:slay:offline >/dev/null
layer_file slay offline "/boot/EFI/Linux/$KVER.efi" offline-in-image.efi
cmp -s offline.efi offline-in-image.efi && pass || fail "--uki: the image's UKI is not the given one"
check_eq "--uki: digest" "$V1" "$("$BOOTSEAL" -q image digest oci:slay:offline)"
check_eq "oci-archive: digest" "$V1" "$("$BOOTSEAL" -q image digest oci-archive:unsigned.tar)"
check_eq "oci-archive: skopeo" 1 "$(skopeo inspect --format '{{index .Labels "containers.bootc"}}' oci-archive:unsigned.tar)"

# --- Push to a registry, and seal from one.
start_registry plain
R=$REG_URL
"$BOOTSEAL" --json seal --tls-verify=false oci:lay:1 --keys keys --kargs-from-image --pcr-key keys/db.key \
  -o docker://$R/sealed/os:1 > push.json
mdig=$(jget manifest_digest < push.json)
check_eq "pcrsig" True "$(jget uki.pcrsig < push.json)"
check_eq "skopeo inspect: pushed manifest" "$mdig" \
  "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/sealed/os:1)"
check_eq "skopeo inspect: label" 1 \
  "$(skopeo inspect --tls-verify=false --format '{{index .Labels "containers.bootc"}}' docker://$R/sealed/os:1)"
check_eq "image digest docker://" "$V1" "$("$BOOTSEAL" -q image digest --tls-verify=false docker://$R/sealed/os:1)"
"$BOOTSEAL" -q repo init --repo pulled >/dev/null
check_eq "pulled back" "$V1" "$("$BOOTSEAL" -q image pull --repo pulled --tls-verify=false docker://$R/sealed/os:1)"
skopeo copy -q --src-tls-verify=false docker://$R/sealed/os:1 oci:back:1
layer_file back 1 "/boot/EFI/Linux/$KVER.efi" pulled.efi
sbverify --cert keys/db.crt pulled.efi >/dev/null 2>&1 && pass || fail "sbverify rejects the pulled UKI"
k=$(uki_cmdline pulled.efi)
case " $k " in *" composefs.digest=v1-sha512-12:$V1 "*) pass ;; *) fail "pulled cmdline: $k" ;; esac
"$BOOTSEAL" pcr predict pulled.efi >/dev/null && pass || fail "pcr predict of the pulled UKI"
"$BOOTSEAL" --json uki inspect pulled.efi | grep -q '"\.pcrsig"' && pass || fail "no .pcrsig section"
# A registry source: pushed as it is, sealed from docker:// into an archive.
"$BOOTSEAL" -q image push --tls-verify=false oci:lay:1 docker://$R/base/os:1 >/dev/null
"$BOOTSEAL" -q seal --tls-verify=false docker://$R/base/os:1 --keys keys -o oci-archive:from-reg.tar >/dev/null
check_eq "sealed from docker://" "$V1" "$("$BOOTSEAL" -q image digest oci-archive:from-reg.tar)"
finish
