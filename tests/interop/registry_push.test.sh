#!/bin/bash
# bootseal image push oci:… docker://… against docker-registry 2.8.2 on
# loopback: the manifest's bytes (and digest) unchanged, read back by skopeo
# inspect/copy and by our own pull; blobs already there found by HEAD and not
# sent again; chunked (PATCH) uploads; cross-repository mounts; a multi-arch
# index pushed whole; HTTP Basic auth for push.
source "$SRC/tests/lib.sh"
need umoci skopeo docker-registry htpasswd python3 curl
source "$SRC/tests/lib/registry.sh"
newrepo() { export BOOTSEAL_REPO=$TMP/$1; "$BOOTSEAL" repo init >/dev/null; }
cd "$TMP"
export HOME=$TMP REGISTRY_AUTH_FILE=$TMP/no-auth.json
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

mkdir -p base/usr/lib base/etc base/boot base/sysroot
echo push >base/etc/hostname
head -c 700000 /dev/urandom >base/usr/lib/x.so
umoci init --layout lay
for arch in amd64 arm64; do
  umoci new --image lay:$arch
  umoci config --image lay:$arch --architecture $arch --os linux
  umoci insert --image lay:$arch base / >/dev/null
  echo $arch >a; umoci insert --image lay:$arch a /etc/arch >/dev/null
done
skopeo copy -q oci:lay:amd64 oci:single:t
src_mdig=$(python3 -c 'import json; print([m["digest"] for m in json.load(open("lay/index.json"))["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="amd64"][0])')
d=$("$BOOTSEAL" image digest oci:lay:amd64)

start_registry plain
R=$REG_URL
out=$("$BOOTSEAL" --json image push --tls-verify=false oci:lay:amd64 docker://$R/pushed/x:1)
check_eq "push: manifest digest unchanged" "$src_mdig" "$(echo "$out" | jget manifest_digest)"
check_eq "push: blobs uploaded" 3 "$(echo "$out" | jget blobs_uploaded)"
check_eq "skopeo inspect: digest" "$src_mdig" "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/pushed/x:1)"
skopeo copy -q --src-tls-verify=false docker://$R/pushed/x:1 oci:back:1 && pass || fail "skopeo copy of what we pushed"
check_eq "skopeo copy: same boot digest" "$d" "$("$BOOTSEAL" image digest oci:back:1)"
newrepo repo
check_eq "pull back: same image" "$d" "$("$BOOTSEAL" image pull -q --tls-verify=false docker://$R/pushed/x:1)"
# Again: every blob found by HEAD.
out=$("$BOOTSEAL" --json image push --tls-verify=false oci:lay:amd64 docker://$R/pushed/x:2)
check_eq "re-push: blobs existing" 3 "$(echo "$out" | jget blobs_existing)"
check_eq "re-push: nothing uploaded" 0 "$(echo "$out" | jget blobs_uploaded)"
# Chunked uploads.
out=$("$BOOTSEAL" --json image push --tls-verify=false --chunk-size 65536 oci:single:t docker://$R/chunked/x:1)
check_eq "chunked: uploaded" 3 "$(echo "$out" | jget blobs_uploaded)"
skopeo copy -q --src-tls-verify=false docker://$R/chunked/x:1 oci:back2:1 && pass || fail "skopeo copy of a chunked push"
check_eq "chunked: same boot digest" "$d" "$("$BOOTSEAL" image digest oci:back2:1)"
# Cross-repository mount.
out=$("$BOOTSEAL" --json image push --tls-verify=false --mount-from pushed/x oci:lay:amd64 docker://$R/mounted/x:1)
check_eq "mount: blobs mounted" 3 "$(echo "$out" | jget blobs_mounted)"
check_eq "mount: skopeo inspect" "$src_mdig" "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/mounted/x:1)"
# A destination digest that is not the manifest's.
expect_error "wrong destination digest" "^bootseal: error: .*the manifest is $src_mdig, not the digest sha256:0{64} the destination names" \
  "$BOOTSEAL" image push --tls-verify=false oci:lay:amd64 "docker://$R/pushed/y@sha256:$(printf '%064d' 0)"
# A multi-arch index, pushed whole.
python3 - <<'PY'
import hashlib, json
idx = json.load(open("lay/index.json"))
ents = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m["digest"], "size": m["size"],
         "platform": {"architecture": m["annotations"]["org.opencontainers.image.ref.name"], "os": "linux"}} for m in idx["manifests"]]
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ents}).encode()
h = hashlib.sha256(body).hexdigest()
open("lay/blobs/sha256/" + h, "wb").write(body)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + h, "size": len(body),
                         "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open("lay/index.json", "w"))
print("sha256:" + h, file=open("index.digest", "w"))
PY
out=$("$BOOTSEAL" --json image push --tls-verify=false oci:lay:multi docker://$R/multi/x:1)
check_eq "index: digest" "$(cat index.digest)" "$(echo "$out" | jget manifest_digest)"
check_eq "index: skopeo sees an index" "application/vnd.oci.image.index.v1+json" \
  "$(skopeo inspect --tls-verify=false --raw docker://$R/multi/x:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])')"
check_eq "index: arm64 pulled" "$("$BOOTSEAL" image digest oci:lay:arm64)" \
  "$("$BOOTSEAL" image pull -q --tls-verify=false --platform linux/arm64 docker://$R/multi/x:1)"
# Bad sources.
expect_error "push: directory source" "the source must be oci:" "$BOOTSEAL" image push base docker://$R/x/y:1
expect_error "push: not a registry" "the destination must be docker://" "$BOOTSEAL" image push oci:lay:amd64 oci:z

# HTTP Basic: refused without credentials, with the server's message.
start_registry basic basic
B=$REG_URL
expect_error "push: no credentials" "^bootseal: error: .*exists in $B/pushed/x: unauthorized" \
  "$BOOTSEAL" image push --tls-verify=false oci:lay:amd64 docker://$B/pushed/x:1
"$BOOTSEAL" image push -q --tls-verify=false --creds alice:s3cret oci:lay:amd64 docker://$B/pushed/x:1 >/dev/null \
  && pass || fail "push with --creds"
check_eq "basic push: skopeo inspect" "$src_mdig" \
  "$(skopeo inspect --tls-verify=false --creds alice:s3cret --format '{{.Digest}}' docker://$B/pushed/x:1)"
finish
