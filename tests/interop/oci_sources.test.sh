#!/bin/bash
# Image sources as real tools write them, beyond the plain cases of
# oci_layers/oci_umoci: docker-archive with several images (chosen with
# :NAME:TAG or :@N, as skopeo), legacy docker save layouts whose layers are
# <id>/layer.tar symlinks, a docker-archive config checked against its name,
# an image index whose descriptor has no mediaType, and Docker's uncompressed
# schema 2 layer media type.
source "$SRC/tests/lib.sh"
need python3 skopeo
PY="python3 $SRC/tests/interop/oci_layout.py"
cd "$TMP"
echo '[{"path":"usr","type":"dir"},{"path":"usr/a","size":5000},{"path":"boot","type":"dir"},{"path":"sysroot","type":"dir"}]' > a.json
echo '[{"path":"usr","type":"dir"},{"path":"usr/b","size":7000},{"path":"boot","type":"dir"},{"path":"sysroot","type":"dir"}]' > b.json
$PY layer a.json a.tar; $PY layer b.json b.tar
$PY image ia --tag t --gzip a.tar a.tar   # the same layer twice
$PY image ib --tag t --gzip b.tar
da=$("$BOOTSEAL" image digest oci:ia:t)
db=$("$BOOTSEAL" image digest oci:ib:t)
[ "$da" != "$db" ] && pass || fail "test images have the same digest"

# docker-archive holding two images (docker save IMG1 IMG2 writes such archives).
skopeo copy -q oci:ia:t docker-archive:da.tar:example.com/os/a:1
skopeo copy -q oci:ib:t docker-archive:db.tar:os/b:2
mkdir two; tar -C two -xf da.tar; tar -C two -xf db.tar
python3 - <<'P'
import json
a = json.load(open("two/manifest.json"))  # db.tar's, extracted last
import tarfile
with tarfile.open("da.tar") as t:
    first = json.load(t.extractfile("manifest.json"))
json.dump(first + a, open("two/manifest.json", "w"))
P
tar -C two -cf two.tar .
check_eq "docker-archive :NAME:TAG" "$da" "$("$BOOTSEAL" image digest docker-archive:two.tar:example.com/os/a:1)"
check_eq "docker-archive :NAME:TAG (docker.io shorthand)" "$db" "$("$BOOTSEAL" image digest docker-archive:two.tar:os/b:2)"
check_eq "docker-archive :@1" "$db" "$("$BOOTSEAL" image digest docker-archive:two.tar:@1)"
expect_error "docker-archive with two images and no name" 'holds 2 images \(@0: docker.io/example.com/os/a:1|holds 2 images \(@0: example.com/os/a:1' \
  "$BOOTSEAL" image digest docker-archive:two.tar
expect_error "docker-archive unknown name" 'no image tagged "os/c"' "$BOOTSEAL" image digest docker-archive:two.tar:os/c
export BOOTSEAL_REPO=$TMP/repo
"$BOOTSEAL" -q repo init
check_eq "import docker-archive:FILE:@0" "$da" "$("$BOOTSEAL" -q image import --ref a docker-archive:two.tar:@0)"

# Legacy docker save: manifest.json names <id>/layer.tar, which skopeo (and
# docker, for a layer used twice) writes as a symlink to the real file.
mkdir legacy; tar -C legacy -xf da.tar
python3 - <<'P'
import json, os
m = json.load(open("legacy/manifest.json"))
links = {}
for d in os.listdir("legacy"):
    p = os.path.join("legacy", d, "layer.tar")
    if os.path.islink(p):
        links[os.path.basename(os.readlink(p))] = d + "/layer.tar"
m[0]["Layers"] = [links[l] for l in m[0]["Layers"]]
json.dump(m, open("legacy/manifest.json", "w"))
P
grep -q '/layer.tar' legacy/manifest.json && pass || fail "legacy manifest.json not rewritten"
tar -C legacy -cf legacy.tar .
check_eq "docker-archive with <id>/layer.tar symlinks" "$da" "$("$BOOTSEAL" image digest docker-archive:legacy.tar)"
# A symlink leaving the archive is refused.
mkdir evil; tar -C evil -xf legacy.tar
l=$(python3 -c 'import json; print(json.load(open("evil/manifest.json"))[0]["Layers"][0])')
ln -sfn ../../../etc/passwd "evil/$l"
tar -C evil -cf evil.tar .
expect_error "escaping member symlink" 'leaves the archive' "$BOOTSEAL" image digest docker-archive:evil.tar

# The config of a docker-archive is checked against its name.
mkdir badcfg; tar -C badcfg -xf da.tar
cfg=$(python3 -c 'import json; print(json.load(open("badcfg/manifest.json"))[0]["Config"])')
python3 - "badcfg/$cfg" <<'P'
import json, sys
c = json.load(open(sys.argv[1])); c["created"] = "1999-01-01T00:00:00Z"
open(sys.argv[1], "w").write(json.dumps(c))
P
tar -C badcfg -cf badcfg.tar .
expect_error "docker-archive config digest" "$cfg: digest mismatch" "$BOOTSEAL" image digest docker-archive:badcfg.tar

# An image index whose descriptor in index.json has no mediaType, and
# Docker's uncompressed schema 2 layer media type.
python3 - <<'P'
import hashlib, json, os, shutil
def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs/sha256", h), "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
# Uncompressed layers with Docker's media type.
shutil.copytree("ib", "docker-types")
d = "docker-types"
idx = json.load(open(d + "/index.json"))
md = idx["manifests"][0]
m = json.load(open(d + "/blobs/sha256/" + md["digest"][7:]))
tarbytes = open("b.tar", "rb").read()
m["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
m["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
m["layers"] = [dict(blob(d, tarbytes), mediaType="application/vnd.docker.image.rootfs.diff.tar")]
idx["manifests"][0].update(blob(d, json.dumps(m).encode()))
idx["manifests"][0]["mediaType"] = m["mediaType"]
json.dump(idx, open(d + "/index.json", "w"))
# A nested index without mediaType on the outer descriptor.
shutil.copytree("ia", "nested")
d = "nested"
idx = json.load(open(d + "/index.json"))
inner = {"schemaVersion": 2, "manifests": [dict(idx["manifests"][0])]}
inner["manifests"][0].pop("annotations", None)
outer = blob(d, json.dumps(inner).encode())
outer["annotations"] = {"org.opencontainers.image.ref.name": "t"}
json.dump({"schemaVersion": 2, "manifests": [outer]}, open(d + "/index.json", "w"))
P
check_eq "Docker uncompressed layer media type" "$db" "$("$BOOTSEAL" image digest oci:docker-types:t)"
check_eq "nested index without mediaType" "$da" "$("$BOOTSEAL" image digest oci:nested:t)"
"$BOOTSEAL" repo fsck >/dev/null && pass || fail "fsck"
finish
