#!/bin/bash
# containers-storage:NAME as an image source: a small base imported into podman
# (`podman import`), a derived image built from a Containerfile with a RUN and a
# COPY step (`podman build --isolation=chroot`, as docs/custom-image.md does),
# then read by bootseal through `podman image save`: the same boot digest as the
# oci-archive podman writes, imported into a repository, and rechunked with
# that digest kept. podman's storage is the test's own (CONTAINERS_STORAGE_CONF,
# vfs driver, under $TMP): nothing outside the test directory is touched, and
# nothing is pulled.
source "$SRC/tests/lib.sh"
need podman jq
[ "$(id -u)" -eq 0 ] || skip "needs root (podman runs rootful here)"
[ -x /bin/busybox ] || skip "busybox-static not installed (run tools/setup)"
cd "$TMP"
cat > storage.conf <<CONF
[storage]
driver = "vfs"
graphroot = "$TMP/storage"
runroot = "$TMP/run"
CONF
export CONTAINERS_STORAGE_CONF=$TMP/storage.conf
export TMPDIR=$TMP
trap 'podman rmi -af >/dev/null 2>&1; rm -rf "$TMP"' EXIT

# A bootable-looking base: /usr with a shell, /boot and /sysroot.
mkdir -p base/usr/bin base/boot base/sysroot base/etc base/tmp base/usr/share
cp /bin/busybox base/usr/bin/busybox
for t in sh echo cat; do ln -s busybox base/usr/bin/$t; done
ln -s usr/bin base/bin
echo base > base/etc/hostname
tar -C base --numeric-owner -cf base.tar .
podman import --quiet base.tar localhost/bootseal-test-base:1 >/dev/null
mkdir ctx
cat > ctx/Containerfile <<'CF'
FROM localhost/bootseal-test-base:1
RUN echo "built by a RUN step" > /usr/share/marker
COPY app.conf /etc/app.conf
CF
printf 'setting=%s\n' $(seq 1 40) > ctx/app.conf
podman build --quiet --pull=never --isolation=chroot -t localhost/bootseal-test-derived:1 ctx >/dev/null

podman image save --quiet --format oci-archive -o saved.tar localhost/bootseal-test-derived:1
want=$("$BOOTSEAL" image digest oci-archive:saved.tar)
check_eq "digest through containers-storage:" "$want" "$("$BOOTSEAL" image digest containers-storage:localhost/bootseal-test-derived:1)"
"$BOOTSEAL" image digest --dumpfile d.dump containers-storage:localhost/bootseal-test-derived:1 >/dev/null
grep -q '^/usr/share/marker ' d.dump && pass || fail "the RUN step's file is missing"
grep -q '^/etc/app.conf ' d.dump && pass || fail "the COPY step's file is missing"

export BOOTSEAL_REPO=$TMP/repo
"$BOOTSEAL" -q repo init
check_eq "import from containers-storage:" "$want" "$("$BOOTSEAL" -q image import --ref derived containers-storage:localhost/bootseal-test-derived:1)"
"$BOOTSEAL" -q rechunk --max-layers 8 --output oci:rechunked:1 containers-storage:localhost/bootseal-test-derived:1 >/dev/null
check_eq "rechunked from containers-storage: keeps the digest" "$want" "$("$BOOTSEAL" image digest oci:rechunked:1)"
expect_error "missing image" 'bootseal-test-missing' "$BOOTSEAL" image digest containers-storage:localhost/bootseal-test-missing:1
check_eq "no temporary archive left" "" "$(ls -d "$TMP"/bootseal-containers-storage.* 2>/dev/null)"
finish
