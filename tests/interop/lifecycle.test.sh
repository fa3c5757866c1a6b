#!/usr/bin/env bash
# The life cycle offline, on the sysroot and ESP that `disk create` stages
# (--keep-work): status, switch with the /etc three-way merge, rollback,
# upgrade from the origin, pruning, deployments as GC roots, and the
# cross-format rule (issue 8): a UKI sealed for V2 on a V1-pinned repository
# and the reverse are detected, explained and made bootable; a UKI that no
# variant reproduces, an unsigned UKI, a SHA-256 karg on a SHA-512 repository
# and an insecure karg are refused with nothing on the ESP or in state/ changed.
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
B() { "$BOOTSEAL" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# Tree versions: v1; v2 changes /etc (motd, new file) and a binary; v3 only a binary.
mkroot v1 1
echo "remove me" > v1/etc/removeme
echo "app v1" > v1/usr/bin/app
cp -a v1 v2; printf 'ID=tiny\nVERSION_ID=2\nPRETTY_NAME="tiny test OS 2"\n' > v2/usr/lib/os-release
echo "hello from v2" > v2/etc/motd; echo new > v2/etc/new-in-v2; echo "app v2" > v2/usr/bin/app
cp -a v2 v3; echo "app v3" > v3/usr/bin/app; printf 'ID=tiny\nVERSION_ID=3\n' > v3/usr/lib/os-release

B -q keys generate --dir keys >/dev/null
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$TMP/v1" >/dev/null 2>&1
B -q disk create --repo repo --image v1 --keys keys -o disk.raw --work-dir w --keep-work >/dev/null
S=(--sysroot "$TMP/w/root" --esp "$TMP/w/esp")
D1=$(B -q image digest --repo repo v1)

# --- status of the fresh install
B --json status "${S[@]}" > st.json
check_eq "one deployment, no rollback" "None None" "$(jget st.json 'str(d["status"]["rollback"])+" "+str(d["status"]["staged"])')"
check_eq "default is v1" "$D1 default dir:$TMP/v1" "$(jget st.json '" ".join([d["status"]["booted"]["composefs"]["verity"]]+[d["status"]["booted"]["bootseal"][k] for k in ("role","source")])')"
check_eq "no problems" "0" "$(jget st.json 'len(d["bootseal"]["problems"])')"
B status "${S[@]}" | grep -q "Verity: $D1" && pass || fail "human status"
# --repo names the physical root (the repository root) as --sysroot does.
B status --repo "$TMP/w/root" --esp "$TMP/w/esp" | grep -q "Verity: $D1" && pass || fail "status --repo"
BOOTSEAL_REPO="$TMP/w/root" B status --esp "$TMP/w/esp" | grep -q "Verity: $D1" && pass || fail "status with \$BOOTSEAL_REPO"

# --- local /etc changes on the deployment, then switch to v2 (UKI sealed here)
E1=w/root/state/deploy/$D1/etc
echo "local motd" > "$E1/motd"; echo local > "$E1/local.conf"; rm "$E1/removeme"
B --json switch "${S[@]}" --keys keys "dir:$TMP/v2" > sw.json 2>sw.err || { cat sw.err; fail "switch v2"; }
B --json finalize "${S[@]}" > fin.json 2>fin.err || { cat fin.err; fail "finalize v2"; }
D2=$(B -q image digest --repo repo "dir:$TMP/v2")
check_eq "switch: new default" "$D2" "$(jget sw.json 'd["digest"]')"
check_eq "switch: rollback" "$D1" "$(jget sw.json 'd["rollback"]')"
E2=w/root/state/deploy/$D2/etc
check_eq "local motd wins" "local motd" "$(cat "$E2/motd")"
check_eq "local file kept" "local" "$(cat "$E2/local.conf")"
[ ! -e "$E2/removeme" ] && pass || fail "local removal not applied"
check_eq "image's new file" "new" "$(cat "$E2/new-in-v2")"
check_eq "etc report" "['/etc/local.conf', '/etc/motd'] ['/etc/removeme']" "$(jget fin.json 'str(sorted(d["etc_kept"]))+" "+str(d["etc_removed"])')"
check_eq "entry 0" "efi /EFI/Linux/bootc/bootc_composefs-$D2.efi" "$(grep ^efi w/esp/loader/entries/bootc_tiny-2-0+3.conf)"
check_eq "entry 1" "efi /EFI/Linux/bootc/bootc_composefs-$D1.efi" "$(grep ^efi w/esp/loader/entries/bootc_tiny-1-1.conf)"
check_eq "two entries" "2" "$(ls w/esp/loader/entries | wc -l)"
[ ! -e w/esp/loader/entries.staged ] && pass || fail "entries.staged left behind"
B -q verify --cert keys/db.crt "w/esp/EFI/Linux/bootc/bootc_composefs-$D2.efi" >/dev/null && pass || fail "new UKI not signed by db"
check_eq "new UKI seals D2" "$D2" "$(B --json uki inspect "w/esp/EFI/Linux/bootc/bootc_composefs-$D2.efi" | jget /dev/stdin 'd["composefs_digest"]')"
check_eq "image on the sysroot has digest D2" "$D2" "$(B verity digest --hash-alg sha512 "w/root/composefs/images/$D2" | awk '{print $1}' | sed 's/^sha512://')"
grep -q "^container-image-reference=dir:$TMP/v2$" "w/root/state/deploy/$D2/$D2.origin" && pass || fail "origin of v2"

# --- rollback, then upgrade from the (v1) origin: already deployed
B --json rollback "${S[@]}" > rb.json
check_eq "rollback default" "$D1 $D2" "$(jget rb.json 'd["default"]+" "+d["rollback"]')"
check_eq "entry 0 after rollback" "efi /EFI/Linux/bootc/bootc_composefs-$D1.efi" "$(grep ^efi w/esp/loader/entries/bootc_tiny-1-0.conf)"
B --json upgrade "${S[@]}" --keys keys > up.json 2>/dev/null
# sealing is reproducible: the same image and key give the same UKI bytes, nothing to replace
check_eq "upgrade: unchanged" "True False $D1" "$(jget up.json 'str(d["unchanged"])+" "+str(d["uki_replaced"])+" "+d["digest"]')"
B --json upgrade "${S[@]}" --keys keys --cmdline "console=ttyS0 quiet" > up2.json 2>/dev/null
check_eq "upgrade with new kernel arguments: UKI replaced" "True True" "$(jget up2.json 'str(d["unchanged"])+" "+str(d["uki_replaced"])')"
B --json uki inspect "w/esp/EFI/Linux/bootc/bootc_composefs-$D1.efi" | grep -q "composefs=$D1 console=ttyS0 quiet" && pass || fail "replaced UKI cmdline"
B -q rollback "${S[@]}" >/dev/null

# --- deployments are GC roots of the device repository
B -q repo gc --repo w/root >/dev/null
for d in $D1 $D2; do [ -f "w/root/composefs/images/$d" ] && pass || fail "gc removed deployed image ${d:0:12}"; done
B -q repo fsck --repo w/root >/dev/null && pass || fail "fsck after gc"

# --- cross-format: a UKI sealed with v3's V2 digest onto the V1-pinned sysroot
B -q initrd build --kernel-modules-from "$PAY/kernel" --init /bin/busybox -o small.cpio >/dev/null
mkuki() {  # mkuki OUT CMDLINE [unsigned]
  B -q uki build --stub "$STUB" --linux "$PAY/kernel/vmlinuz" --initrd small.cpio --cmdline "$2" \
    --os-release "@$TMP/v3/usr/lib/os-release" --uname "$KVER" --output "$1.unsigned"
  if [ "${3:-}" = unsigned ]; then mv "$1.unsigned" "$1"; else B -q sign --key keys/db.key --cert keys/db.crt --output "$1" "$1.unsigned"; fi
}
snap() { (cd w && find esp root/state -printf '%p %s %l\n' | sort) > "$1"; }
D3V2=$(B -q image digest --format v2 "dir:$TMP/v3")
D3V1=$(B -q image digest --format v1 "dir:$TMP/v3")
[ "$D3V2" != "$D3V1" ] && pass || fail "V1 and V2 digests should differ"
mkuki v3-v2.efi "composefs=$D3V2 console=ttyS0"
B --json switch "${S[@]}" --uki v3-v2.efi "dir:$TMP/v3" > x.json 2>x.err || { cat x.err; fail "switch with a V2 UKI"; }
B -q finalize "${S[@]}" >/dev/null
check_eq "V2 UKI: deployed its digest" "$D3V2 v2 False" "$(jget x.json 'd["digest"]+" "+d["format"]+" "+str(d["repository_default"])')"
jget x.json 'd["explanation"]' | grep -q "sealed for EROFS V2.*pinned to V1" && pass || fail "no explanation: $(cat x.json)"
check_eq "V2 image written with its digest" "$D3V2" "$(B verity digest --hash-alg sha512 "w/root/composefs/images/$D3V2" | awk '{print $1}' | sed 's/^sha512://')"
B -q status "${S[@]}" >/dev/null && pass || fail "status reports problems after the cross-format switch"
check_eq "pruned the third deployment" "2" "$(ls w/esp/EFI/Linux/bootc | wc -l)"
[ ! -e "w/root/state/deploy/$D1" ] && pass || fail "state of pruned $D1 left"

# --- gc: an unlisted deployment is reported, then pruned; content no
# deployment pins goes (v3's V1 image), deployed images stay
FAKE=$(printf '%128s' | tr ' ' f); mkdir -p "w/root/state/deploy/$FAKE/etc"
expect_error "status with an unlisted deployment" "problem" B status "${S[@]}"
B --json gc "${S[@]}" --dry-run > gc1.json
check_eq "gc dry run" "['$FAKE'] True" "$(jget gc1.json 'str(d["pruned_deployments"])+" "+str(d["dry_run"])')"
[ -d "w/root/state/deploy/$FAKE" ] && pass || fail "dry run removed something"
B --json gc "${S[@]}" > gc2.json
[ ! -e "w/root/state/deploy/$FAKE" ] && pass || fail "gc left the unlisted deployment"
[ ! -e "w/root/composefs/images/$D3V1" ] && pass || fail "gc kept v3's unpinned V1 image"
for d in $D2 $D3V2; do [ -f "w/root/composefs/images/$d" ] && pass || fail "gc removed deployed ${d:0:12}"; done
B -q status "${S[@]}" >/dev/null && pass || fail "status after gc"
B -q repo fsck --repo w/root >/dev/null && pass || fail "fsck after gc"

# --- refused, nothing changed
snap before
mkuki wrong.efi "composefs=$D1 console=ttyS0"
expect_error "UKI for another image" "matches no variant of image" B switch "${S[@]}" --uki wrong.efi "dir:$TMP/v3"
mkuki unsigned.efi "composefs=$D3V1" unsigned
expect_error "unsigned UKI" "not signed" B switch "${S[@]}" --uki unsigned.efi "dir:$TMP/v3"
mkuki s256.efi "composefs=$(B -q image digest --hash sha256 "dir:$TMP/v3")"
expect_error "sha256 karg on a sha512 repository" "seals a sha256 digest" B switch "${S[@]}" --uki s256.efi "dir:$TMP/v3"
mkuki insecure.efi "composefs=?$D3V1"
expect_error "insecure karg" "fs-verity optional" B switch "${S[@]}" --uki insecure.efi "dir:$TMP/v3"
mkuki nokarg.efi "console=ttyS0"
expect_error "no karg" "no composefs= karg" B switch "${S[@]}" --uki nokarg.efi "dir:$TMP/v3"
expect_error "no sysroot" "not running on a sealed system|no composefs/meta.json" B status --sysroot "$TMP/nowhere" --esp "$TMP"
snap after
cmp -s before after && pass || fail "a refused switch changed the ESP or state: $(diff before after | head -5)"

# --- the reverse: a V1 UKI onto a V2-pinned repository
B -q repo init --repo repo2 --format v2 >/dev/null
B -q image import --repo repo2 --ref v1 "dir:$TMP/v1" >/dev/null 2>&1
B -q disk create --repo repo2 --image v1 --keys keys -o disk2.raw --work-dir w2 --keep-work >/dev/null
mkuki v3-v1.efi "composefs.digest=v1-sha512-12:$D3V1 console=ttyS0"
B --json switch --sysroot "$TMP/w2/root" --esp "$TMP/w2/esp" --uki v3-v1.efi "dir:$TMP/v3" > y.json 2>y.err || { cat y.err; fail "switch with a V1 UKI on V2"; }
check_eq "V1 UKI on V2: deployed" "$D3V1 v1 False" "$(jget y.json 'd["digest"]+" "+d["format"]+" "+str(d["repository_default"])')"
jget y.json 'd["explanation"]' | grep -q "sealed for EROFS V1.*pinned to V2" && pass || fail "no explanation: $(cat y.json)"
check_eq "V1 image on the V2 sysroot" "$D3V1" "$(B verity digest --hash-alg sha512 "w2/root/composefs/images/$D3V1" | awk '{print $1}' | sed 's/^sha512://')"

# --- a repository with erofs_formats.extra (composefs-rs) writes every listed
# format at import, so either UKI finds its image already there
sed -i 's/"erofs_formats":{[^}]*}/"erofs_formats":{"default":2,"extra":[1]}/' w2/root/composefs/meta.json
grep -q '"extra":\[1\]' w2/root/composefs/meta.json && pass || fail "meta.json edit: $(cat w2/root/composefs/meta.json)"
cp -a v3 v5; echo "app v5" > v5/usr/bin/app
B --json image import --repo w2/root "dir:$TMP/v5" > imp5.json 2>/dev/null
for f in v1 v2; do
  d=$(B -q image digest --format $f "dir:$TMP/v5")
  [ -f "w2/root/composefs/images/$d" ] && pass || fail "extra-format import: no $f image"
done
B -q repo fsck --repo w2/root >/dev/null && pass || fail "fsck with extra-format images"

# --- the UKI the image carries in /boot/EFI/Linux (bootc's sealed images): /boot
# is emptied by the boot transform, so the UKI is not part of the digest it seals
cp -a v3 v4; echo "app v4" > v4/usr/bin/app
D4=$(B -q image digest "dir:$TMP/v4")
touch -r v4/boot boot.mtime  # /boot keeps its own mtime nanoseconds in the image (V1)
mkdir -p v4/boot/EFI/Linux; mkuki v4/boot/EFI/Linux/tiny-4.efi "composefs=$D4 console=ttyS0"
touch -r boot.mtime v4/boot
check_eq "the carried UKI is outside the digest" "$D4" "$(B -q image digest "dir:$TMP/v4")"
B --json switch "${S[@]}" "dir:$TMP/v4" > z.json 2>z.err || { cat z.err; fail "switch to an image carrying its UKI"; }
check_eq "carried UKI deployed" "$D4 image:/boot/EFI/Linux/tiny-4.efi" "$(jget z.json 'd["digest"]+" "+d["uki"]')"
cmp -s v4/boot/EFI/Linux/tiny-4.efi "w/esp/EFI/Linux/bootc/bootc_composefs-$D4.efi" && pass || fail "ESP UKI differs from the carried one"
# --- one image, one entry name: disk create and switch name the boot entry of an image
# whose os-release has no VERSION_ID (IMAGE_VERSION instead) the same way
cp -a v1 v9; printf 'ID=tiny\nIMAGE_VERSION=9.1\nPRETTY_NAME="tiny nine"\n' > v9/usr/lib/os-release
B -q repo init --repo repo9 >/dev/null
B -q image import --repo repo9 --ref v9 "dir:$TMP/v9" >/dev/null 2>&1
B -q disk create --repo repo9 --image v9 --keys keys -o disk9.raw --work-dir w9 --keep-work >/dev/null
check_eq "disk create: entry named by IMAGE_VERSION" "bootc_tiny-9.1-0.conf" "$(ls w9/esp/loader/entries)"
B -q switch "${S[@]}" --keys keys "dir:$TMP/v9" >/dev/null 2>z9.err || { cat z9.err; fail "switch to v9"; }
B -q finalize "${S[@]}" >/dev/null 2>z9.err || { cat z9.err; fail "finalize v9"; }
# (upgrade/switch add a boot-counting suffix, +N, that systemd-boot strips: same entry)
check_eq "switch: the same entry name" "bootc_tiny-9.1-0.conf" "$(ls w/esp/loader/entries | grep -- '-0\(+[0-9-]*\)\?.conf$' | sed 's/+[0-9-]*\.conf$/.conf/')"
finish
