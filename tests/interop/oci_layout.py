#!/usr/bin/env python3
"""Test helper: hand-made tar layers and OCI image layouts.

  oci_layout.py layer SPEC.json OUT.tar     build a pax tar layer from a JSON list of entries
  oci_layout.py image OUTDIR [--tag T] [--gzip|--zstd] LAYER.tar...
                                            wrap layers into an OCI image layout

Layer entries: {"path":..., "type":"file|dir|symlink|hardlink|char|block|fifo",
 "data":"text", "size":N (random bytes, seeded by path), "link":..., "mode":0o644,
 "uid":0, "gid":0, "mtime":"123.456789" (pax mtime with fraction) or 123,
 "xattrs":{"user.a":"v"}, "major":1, "minor":3}
"""
import gzip, hashlib, io, json, os, random, subprocess, sys, tarfile

def build_layer(spec, out):
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for e in spec:
            ti = tarfile.TarInfo(e["path"])
            t = e.get("type", "file")
            ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                       "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
                       "fifo": tarfile.FIFOTYPE}[t]
            ti.mode = e.get("mode", 0o755 if t == "dir" else 0o644)
            ti.uid = e.get("uid", 0)
            ti.gid = e.get("gid", 0)
            ti.uname = ti.gname = ""
            m = e.get("mtime", 1000)
            pax = {}
            if isinstance(m, str):
                pax["mtime"] = m
                ti.mtime = int(m.split(".")[0])
            else:
                ti.mtime = m
            for k, v in e.get("xattrs", {}).items():
                pax["SCHILY.xattr." + k] = v
            ti.pax_headers = pax
            if t in ("symlink", "hardlink"):
                ti.linkname = e["link"]
            if t in ("char", "block"):
                ti.devmajor = e.get("major", 0)
                ti.devminor = e.get("minor", 0)
            data = None
            if t == "file":
                if "size" in e:
                    data = random.Random(e["path"]).randbytes(e["size"])
                else:
                    data = e.get("data", "").encode()
                ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)

def blob(outdir, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(outdir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(outdir, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h

def build_image(outdir, layers, tag, comp):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs, diff_ids = [], []
    for path in layers:
        raw = open(path, "rb").read()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        mt = "application/vnd.oci.image.layer.v1.tar"
        if comp == "gzip":
            raw = gzip.compress(raw, mtime=0)
            mt += "+gzip"
        elif comp == "zstd":
            raw = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
            mt += "+zstd"
        descs.append({"mediaType": mt, "digest": blob(outdir, raw), "size": len(raw)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                         "config": {"Labels": {"org.opencontainers.image.version": "42.1"}},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cdesc = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(outdir, config), "size": len(config)}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": cdesc, "layers": descs}).encode()
    mdesc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(outdir, manifest),
             "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag},
             "platform": {"architecture": "amd64", "os": "linux"}}
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)

def build_multiarch(outdir, tag, images):
    """images: list of (arch, layout dir with one manifest); a nested image index under `tag`."""
    import shutil
    os.makedirs(os.path.join(outdir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(outdir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs = []
    for arch, d in images:
        for b in os.listdir(os.path.join(d, "blobs", "sha256")):
            shutil.copy(os.path.join(d, "blobs", "sha256", b), os.path.join(outdir, "blobs", "sha256", b))
        m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]
        descs.append({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                      "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": descs}).encode()
    idesc = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": blob(outdir, index),
             "size": len(index), "annotations": {"org.opencontainers.image.ref.name": tag}}
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [idesc]}, f)

def main():
    if sys.argv[1] == "layer":
        build_layer(json.load(open(sys.argv[2])), sys.argv[3])
    elif sys.argv[1] == "image":
        args = sys.argv[2:]
        outdir = args.pop(0)
        tag, comp, layers = "latest", None, []
        while args:
            a = args.pop(0)
            if a == "--tag":
                tag = args.pop(0)
            elif a == "--gzip":
                comp = "gzip"
            elif a == "--zstd":
                comp = "zstd"
            else:
                layers.append(a)
        build_image(outdir, layers, tag, comp)
    elif sys.argv[1] == "multiarch":  # multiarch OUTDIR TAG ARCH=DIR...
        build_multiarch(sys.argv[2], sys.argv[3], [a.split("=", 1) for a in sys.argv[4:]])

main()
