#!/usr/bin/env bash
# PCR 11 for the sections systemd 254 lacks, against systemd 257 (trixie, from
# tools/fetch-payloads: systemd-measure run with trixie's loader, and its stub):
#  1. a multi-profile UKI with .ucode built by ukify 257 (base profile + two joined
#     profile PEs, on linuxx64.efi.stub 257): ukify --measure runs systemd-measure 257
#     calculate for each profile over base + profile sections; `bootseal pcr predict
#     --uki-profile all` gives the same values, profile by profile; `uki inspect` lists
#     the three profiles; --uki-profile 3 is refused naming how many there are;
#  2. `uki build --ucode` is byte-identical to ukify 257 --microcode (254 stub), and
#     on that 254 stub .ucode is not measured (stub 254 ignores it: a warning);
#  3. `pcr predict` from section files with --ucode/--profile equals systemd-measure 257.
source "$SRC/tests/lib.sh"
P=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
E7=$P/systemd257/usr/lib/systemd/boot/efi
M7=$P/systemd257/bin/systemd-measure
UKIFY=$P/ukify/usr/bin/ukify
KERNEL=$P/kernel/vmlinuz
STUB254=$P/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
for f in "$E7/linuxx64.efi.stub" "$E7/addonx64.efi.stub" "$M7" "$UKIFY" "$KERNEL" "$STUB254"; do
  [ -e "$f" ] || { echo "FAIL: $f missing (run tools/fetch-payloads)"; exit 1; }
done
/usr/bin/python3 -c 'import pefile' || { echo "FAIL: python3-pefile missing"; exit 1; }
cd "$TMP"
ukify() { /usr/bin/python3 "$UKIFY" "$@" 2>>ukify.log || { cat ukify.log; exit 1; }; }
PHASES=(--phase enter-initrd --phase enter-initrd:leave-initrd --phase enter-initrd:leave-initrd:sysinit
        --phase enter-initrd:leave-initrd:sysinit:ready)
head -c 3000 /dev/urandom > initrd; head -c 1000 /dev/urandom > ucode; printf 'ID=tiny\n' > osr

# 1. multi-profile UKI (ukify 257) and ukify's own per-profile measurement
ukify build --stub "$E7/addonx64.efi.stub" --profile $'ID=one\nTITLE=One' --cmdline one --output p1.efi
ukify build --stub "$E7/addonx64.efi.stub" --profile $'ID=two\nTITLE=Two' --cmdline two --initrd initrd --output p2.efi
/usr/bin/python3 "$UKIFY" build --stub "$E7/linuxx64.efi.stub" --linux "$KERNEL" --initrd initrd --microcode ucode \
  --cmdline base --os-release @osr --profile $'ID=base\nTITLE=Base' --join-profile p1.efi --join-profile p2.efi \
  --measure --tools "$P/systemd257/bin" --pcr-banks sha256 --output multi.efi > ref.out 2>>ukify.log || { cat ukify.log; exit 1; }
check_eq "ukify measured three profiles x four phases" 12 "$(grep -c '^11:sha256=' ref.out)"
"$BOOTSEAL" pcr predict multi.efi --uki-profile all --bank sha256 "${PHASES[@]}" > ours.out
check_eq "pcr predict --uki-profile all == systemd-measure 257 per profile (ukify --measure)" \
  "$(grep '^11:' ref.out | tr 'A-F' 'a-f')" "$(grep '^11:' ours.out | tr 'A-F' 'a-f')"
grep -c '^# Profile [0-2]: ID=' ours.out | grep -qx 3 && pass || fail "no profile headings: $(grep '^#' ours.out | head -3)"
# One profile alone equals its block; the default is profile 0.
check_eq "--uki-profile 2 == the third block" "$(grep '^11:' ref.out | sed -n 9,12p)" \
  "$("$BOOTSEAL" pcr predict multi.efi --uki-profile 2 --bank sha256 "${PHASES[@]}" | grep '^11:')"
check_eq "default == profile 0" "$(grep '^11:' ref.out | sed -n 1,4p)" \
  "$("$BOOTSEAL" pcr predict multi.efi --bank sha256 "${PHASES[@]}" | grep '^11:')"
expect_error "a profile the UKI lacks" "no profile 3: the UKI has 3 profiles" \
  "$BOOTSEAL" pcr predict multi.efi --uki-profile 3
"$BOOTSEAL" --json uki inspect multi.efi > insp.json
check_eq "uki inspect: stub 257, three profiles" "257 ID=base|ID=one|ID=two" \
  "$(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["stub_major_version"], "|".join(p["profile"].split("\n")[0] for p in j["profiles"]))' insp.json)"
"$BOOTSEAL" uki inspect multi.efi | grep -q '^profile 1: ID=one TITLE=One (sections .profile .cmdline)' && pass \
  || fail "uki inspect text: $(grep '^profile' <("$BOOTSEAL" uki inspect multi.efi))"
# pcr sign of one profile (on ukify's signed UKI, which has .pcrpkey): the policy ukify
# signed for that profile.
openssl genrsa -out pcr.key 2048 2>/dev/null
openssl rsa -in pcr.key -pubout -out pcr.pub 2>/dev/null
ukify build --stub "$E7/linuxx64.efi.stub" --linux "$KERNEL" --initrd initrd --microcode ucode --cmdline base \
  --os-release @osr --profile $'ID=base\nTITLE=Base' --join-profile p1.efi --join-profile p2.efi \
  --pcr-private-key pcr.key --pcr-public-key pcr.pub --pcr-banks sha256 --phases enter-initrd \
  --tools "$P/systemd257/bin" --output signed.efi
"$BOOTSEAL" pcr sign signed.efi --uki-profile 1 --private-key pcr.key --bank sha256 --phase enter-initrd > sig1.json
/usr/bin/python3 - signed.efi sig1.json <<'PY' && pass || fail "pcr sign --uki-profile 1 differs from ukify's .pcrsig of profile 1"
import json, sys, pefile
pe = pefile.PE(sys.argv[1], fast_load=True)
sigs = [json.loads(s.get_data()[:s.Misc_VirtualSize].rstrip(b"\0")) for s in pe.sections if s.Name.rstrip(b"\0") == b".pcrsig"]
ours = json.load(open(sys.argv[2]))
# ukify writes one .pcrsig per profile (base first); profile 1's is the second.
assert len(sigs) == 3, len(sigs)
assert sigs[1]["sha256"][0]["pol"] == ours["sha256"][0]["pol"], (sigs[1], ours)
assert sigs[1]["sha256"][0]["sig"] == ours["sha256"][0]["sig"]
PY

# 2. uki build --ucode vs ukify --microcode (254 stub): byte-identical; not measured by stub 254.
ukify build --linux "$KERNEL" --initrd initrd --microcode ucode --cmdline "quiet" --os-release @osr \
  --stub "$STUB254" --output ref-ucode.efi
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --ucode ucode --cmdline "quiet" --os-release @osr \
  --stub "$STUB254" --no-checksum --output our-ucode.efi 2> build.err
cmp ref-ucode.efi our-ucode.efi && pass || fail "uki build --ucode is not byte-identical to ukify 257 --microcode"
grep -q "systemd-stub 254 ignores .ucode" build.err && pass || fail "no warning that stub 254 ignores .ucode: $(cat build.err)"
"$BOOTSEAL" uki build --linux "$KERNEL" --initrd initrd --cmdline "quiet" --os-release @osr --stub "$STUB254" -o no-ucode.efi
check_eq "stub 254: .ucode not in the prediction" "$("$BOOTSEAL" pcr predict no-ucode.efi --bank sha256 --phase '')" \
  "$("$BOOTSEAL" pcr predict our-ucode.efi --bank sha256 --phase '')"

# 3. section files, all 257 options
printf LINUX > l; printf quiet > c; printf 'ID=p\n' > pr
check_eq "section files with --ucode --profile == systemd-measure 257" \
  "$("$M7" calculate --linux=l --osrel=osr --cmdline=c --initrd=initrd --ucode=ucode --profile=pr --bank=sha256 --phase=enter-initrd | grep '^11:')" \
  "$("$BOOTSEAL" pcr predict --linux=l --osrel=osr --cmdline=c --initrd=initrd --ucode=ucode --profile=pr --bank sha256 --phase enter-initrd | grep '^11:' | tr 'A-F' 'a-f')"
finish
