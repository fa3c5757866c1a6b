#!/bin/bash
# bootseal image pull docker://… against a real registry on loopback
# (docker-registry 2.8.2, started here, stopped by PID): images pushed by
# skopeo, pulled by tag and by digest with the boot digest and the manifest
# digest skopeo reports; a multi-arch index with --platform; layers reused;
# a blob corrupted and a manifest edited in the registry's storage refused
# with nothing imported; an interrupted download resumed; redirected blobs; bad input (unknown
# host, refused connection, 404 tag, malformed manifest, wrong media type,
# a registry closing mid-blob) as one-line errors.
source "$SRC/tests/lib.sh"
need umoci skopeo docker-registry python3 curl
source "$SRC/tests/lib/registry.sh"
newrepo() { export BOOTSEAL_REPO=$TMP/$1; "$BOOTSEAL" repo init >/dev/null; }
cd "$TMP"
export HOME=$TMP REGISTRY_AUTH_FILE=$TMP/no-auth.json  # no credentials from the machine

# Images: a 3-layer amd64 image and an arm64 one, and an index of both.
mkdir -p base/usr/bin base/usr/lib base/boot base/sysroot base/etc
echo small >base/etc/hostname
head -c 3000000 /dev/urandom >base/usr/lib/big.so
for i in $(seq 1 20); do head -c $((i * 997)) /dev/urandom >base/usr/lib/lib$i.so; done
mkdir -p upd; head -c 200000 /dev/urandom >upd/extra
umoci init --layout lay
for arch in amd64 arm64; do
  umoci new --image lay:$arch
  umoci config --image lay:$arch --architecture $arch --os linux
  umoci insert --image lay:$arch base / >/dev/null
  echo $arch >arch-file
  umoci insert --image lay:$arch arch-file /etc/arch >/dev/null
  umoci insert --image lay:$arch upd /usr/lib/upd >/dev/null
done
python3 - <<'PY'
import hashlib, json, os
idx = json.load(open("lay/index.json"))
ents = []
for m in idx["manifests"]:
    arch = m["annotations"]["org.opencontainers.image.ref.name"]
    ents.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m["digest"], "size": m["size"],
                 "platform": {"architecture": arch, "os": "linux"}})
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ents}).encode()
h = hashlib.sha256(body).hexdigest()
open("lay/blobs/sha256/" + h, "wb").write(body)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + h,
                         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open("lay/index.json", "w"))
PY
d_amd=$("$BOOTSEAL" image digest oci:lay:amd64)
d_arm=$("$BOOTSEAL" image digest oci:lay:arm64)
[ "$d_amd" != "$d_arm" ] && pass || fail "the two images should differ"

start_registry plain
R=$REG_URL
skopeo copy -q --dest-tls-verify=false oci:lay:amd64 docker://$R/test/small:v1
skopeo copy -q --all --dest-tls-verify=false oci:lay:multi docker://$R/test/multi:1
mdig=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/test/small:v1)

# Pull by tag: the boot digest of the oci: original, the manifest digest skopeo reports.
newrepo repo
out=$("$BOOTSEAL" --json image pull --tls-verify=false --ref small docker://$R/test/small:v1)
img=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')
check_eq "pulled image = oci: digest" "$d_amd" "$img"
check_eq "manifest digest" "$mdig" "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest_digest"])')"
check_eq "layers read" 3 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers_read"])')"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck after pull"
# The recorded manifest bytes are the registry's: same digest as a raw GET.
raw=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$R/v2/test/small/manifests/v1 | sha256sum | cut -d' ' -f1)
check_eq "manifest digest = served bytes" "$mdig" "sha256:$raw"
# By digest, and again: every layer reused.
out=$("$BOOTSEAL" --json image import --tls-verify=false docker://$R/test/small@$mdig)
check_eq "by digest: layers reused" 3 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers_reused"])')"
check_eq "by digest: same image" "$d_amd" "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')"
check_eq "image digest docker://" "$d_amd" "$("$BOOTSEAL" image digest --tls-verify=false docker://$R/test/small:v1)"

# Multi-arch index: the platform picks the image.
check_eq "index arm64" "$d_arm" "$("$BOOTSEAL" image pull -q --tls-verify=false --platform linux/arm64 docker://$R/test/multi:1)"
check_eq "index amd64" "$d_amd" "$("$BOOTSEAL" image pull -q --tls-verify=false --platform linux/amd64 docker://$R/test/multi:1)"
expect_error "index: no such platform" "no image for platform linux/s390x \(available: linux/amd64, linux/arm64\)" \
  "$BOOTSEAL" image pull --tls-verify=false --platform linux/s390x docker://$R/test/multi:1

# Interrupted downloads: resumed by a Range request (proxy cuts each blob once).
start_py proxy cut_proxy.py "$REG_PORT" 100000 once
P=127.0.0.1:$PY_PORT
newrepo repo-resume
"$BOOTSEAL" -v image pull --tls-verify=false docker://$P/test/small:v1 >resume.out 2>resume.err \
  && pass || fail "pull through a cutting proxy: $(tail -3 resume.err)"
check_eq "resumed pull: image" "$d_amd" "$(tail -1 resume.out)"
grep -q "resuming" resume.err && pass || fail "no resume reported: $(grep -c . resume.err) lines"
grep -q "cutting" "$TMP/proxy.log" && pass || fail "the proxy cut nothing"
# Blobs redirected elsewhere (307), as to object storage: followed.
start_py redir cut_proxy.py "$REG_PORT" 0 redirect
newrepo repo-redirect
check_eq "redirected blobs" "$d_amd" "$("$BOOTSEAL" image pull -q --tls-verify=false docker://127.0.0.1:$PY_PORT/test/small:v1)"
grep -q "redirecting" "$TMP/redir.log" && pass || fail "the proxy redirected nothing"
# A registry closing every download mid-blob: one line, nothing imported.
start_py proxy2 cut_proxy.py "$REG_PORT" 100000 always
newrepo repo-cut
expect_error "closing mid-blob" "^bootseal: error: (import [^ ]+: )?.*blob sha256:[0-9a-f]{64} from 127.0.0.1:[0-9]+/test/small.*after [0-9]+ bytes" \
  "$BOOTSEAL" image pull --retry-times 1 --tls-verify=false docker://127.0.0.1:$PY_PORT/test/small:v1
check_eq "closing mid-blob: one line" 1 "$(wc -l <"$TMP/err")"
check_eq "closing mid-blob: no image" "" "$("$BOOTSEAL" image ls --json | python3 -c 'import json,sys; print(" ".join(i["image"] for i in json.load(sys.stdin)))')"

# Bad input.
newrepo repo-bad
expect_error "unknown host" "^bootseal: error: (import [^ ]+: )?pinging container registry nonexistent.invalid.*(resolve|Resolv)" \
  "$BOOTSEAL" image pull --retry-times 0 docker://nonexistent.invalid/x:1
dead=$(free_port)
expect_error "refused connection" "^bootseal: error: (import [^ ]+: )?pinging container registry 127.0.0.1:$dead: .*(onnect|refused)" \
  "$BOOTSEAL" image pull --retry-times 1 --tls-verify=false docker://127.0.0.1:$dead/x:1
expect_error "404 tag" "^bootseal: error: (import [^ ]+: )?reading manifest nope in $R/test/small: manifest unknown" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$R/test/small:nope
expect_error "not a registry reference" "not a registry reference" "$BOOTSEAL" image pull oci:lay:amd64
expect_error "bad reference" "repository name must be lowercase" "$BOOTSEAL" image pull docker://$R/Test/x:1
start_py fake fake_registry.py
F=127.0.0.1:$PY_PORT
expect_error "malformed manifest" "^bootseal: error: (import [^ ]+: )?.*manifest 1 from $F/malformed/x: manifest is not a JSON object" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$F/malformed/x:1
expect_error "wrong media type" "^bootseal: error: (import [^ ]+: )?manifest 1 from $F/mediatype/x: unsupported media type \"text/html\"" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$F/mediatype/x:1
expect_error "media type mismatch" "served as \"application/vnd.oci.image.manifest.v1\+json\" but its mediaType is" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$F/mismatch/x:1
expect_error "unknown repository" "name unknown: repository name not known" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$F/none/x:1
check_eq "bad input: no image" "" "$("$BOOTSEAL" image ls --json | python3 -c 'import json,sys; print(" ".join(i["image"] for i in json.load(sys.stdin)))')"

# Tampering in the registry's storage (the registry serves it unchecked).
# A corrupted layer blob (same length): refused, nothing imported.
newrepo repo-tamper
layer=$(skopeo inspect --tls-verify=false --raw docker://$R/test/small:v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][2]["digest"])')
f=$(storage_blob "$layer")
cp "$f" layer.orig
printf 'XXXX' | dd of="$f" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "corrupted blob" "^bootseal: error: (import [^ ]+: )?.*blob $layer from $R/test/small: digest mismatch: content is sha256:[0-9a-f]{64}" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$R/test/small:v1
check_eq "corrupted blob: no image" "" "$("$BOOTSEAL" image ls --json | python3 -c 'import json,sys; print(" ".join(i["image"] for i in json.load(sys.stdin)))')"
ls "$BOOTSEAL_REPO"/composefs/streams 2>/dev/null | grep -q "${layer#sha256:}" && fail "corrupted layer recorded" || pass
cp layer.orig "$f"
# A manifest edited in storage (same length), fetched by tag: refused.
mf=$(storage_blob "$mdig")
cp "$mf" manifest.orig
python3 - "$mf" <<'PY'
import sys
p = sys.argv[1]; b = open(p, "rb").read()
i = b.index(b'"size":')
j = i + 7
while b[j:j+1].isdigit(): j += 1
n = b[i+7:j]
m = str(int(n) + 1).encode() if len(str(int(n) + 1)) == len(n) else str(int(n) - 1).encode()
open(p, "wb").write(b[:i+7] + m + b[j:])
PY
cmp -s "$mf" manifest.orig && fail "manifest not edited" || pass
expect_error "edited manifest by tag" "^bootseal: error: (import [^ ]+: )?manifest v1 from $R/test/small: digest mismatch: Docker-Content-Digest says $mdig, content is sha256:" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$R/test/small:v1
expect_error "edited manifest by digest" "^bootseal: error: (import [^ ]+: )?manifest $mdig from $R/test/small: digest mismatch: content is sha256:" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$R/test/small@$mdig
check_eq "edited manifest: no image" "" "$("$BOOTSEAL" image ls --json | python3 -c 'import json,sys; print(" ".join(i["image"] for i in json.load(sys.stdin)))')"
cp manifest.orig "$mf"
# An image manifest edited under a multi-arch index: checked against the index entry.
armdig=$(skopeo inspect --tls-verify=false --raw docker://$R/test/multi:1 | python3 -c 'import json,sys; print([m["digest"] for m in json.load(sys.stdin)["manifests"] if m["platform"]["architecture"]=="arm64"][0])')
af=$(storage_blob "$armdig")
cp "$af" arm.orig
python3 - "$af" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b'"architecture"') if b'"architecture"' in b else b.index(b'"mediaType"')
b[i + 1] = ord("A")  # same length, different bytes
open(p, "wb").write(bytes(b))
PY
cmp -s "$af" arm.orig && fail "arm64 manifest not edited" || pass
expect_error "edited manifest under an index" "manifest $armdig from $R/test/multi: digest mismatch: content is sha256:[0-9a-f]{64} \(checked against the index entry\)" \
  "$BOOTSEAL" image pull --tls-verify=false --platform linux/arm64 docker://$R/test/multi:1
cp arm.orig "$af"
check_eq "restored: pull works" "$d_amd" "$("$BOOTSEAL" image pull -q --tls-verify=false docker://$R/test/small:v1)"
finish
