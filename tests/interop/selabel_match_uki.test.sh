#!/bin/bash
# SELinux relabel through the CLI (a directory tree whose policy files are
# larger than 64 bytes, so read back from the scanned directory), and
# `image match-uki` naming the format/xattr mode that reproduces a UKI's
# composefs= digest (V2 here, V1 by default).
source "$SRC/tests/lib.sh"
PAY=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}
STUB=$PAY/sdboot/usr/lib/systemd/boot/efi/linuxx64.efi.stub
LINUX=$PAY/sdboot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$STUB" ] && [ -f "$LINUX" ] || { echo "SKIP: boot payloads missing (tools/fetch-payloads)"; exit 77; }
cd "$TMP"
mkdir -p t/usr/bin t/boot t/sysroot t/etc/selinux/tgt/contexts/files t/var/lib
echo hi > t/usr/bin/tool
echo data > t/var/lib/x
printf 'SELINUX=enforcing\nSELINUXTYPE=tgt\n' > t/etc/selinux/config
cat > t/etc/selinux/tgt/contexts/files/file_contexts <<'FC'
/.*                 system_u:object_r:default_t:s0
/usr(/.*)?          system_u:object_r:usr_t:s0
/usr/bin/.*    --   system_u:object_r:bin_t:s0
/var/lib/x     --   system_u:object_r:x_t:s0
/var(/.*)?          system_u:object_r:var_t:s0
/boot          -d   <<none>>
FC
touch -d @1000 t/usr t/boot t/sysroot
"$BOOTSEAL" image digest --dumpfile d.dump t > /dev/null || fail "image digest"
grep_line() { grep -E "^$1 " d.dump; }
case "$(grep_line /usr/bin/tool)" in *security.selinux=system_u:object_r:bin_t:s0*) pass ;; *) fail "tool label: $(grep_line /usr/bin/tool)" ;; esac
case "$(grep_line /var/lib/x)" in *security.selinux=system_u:object_r:var_t:s0*) pass ;; *) fail "last match wins: $(grep_line /var/lib/x)" ;; esac
case "$(grep_line /usr)" in *security.selinux=system_u:object_r:usr_t:s0*) pass ;; *) fail "dir label: $(grep_line /usr)" ;; esac
# The root is matched as "/" + "d", which /.* matches (the type char is the ".").
case "$(grep_line /)" in *security.selinux=system_u:object_r:default_t:s0*) pass ;; *) fail "root label: $(grep_line /)" ;; esac
case "$(grep_line /boot)" in *security.selinux*) fail "<<none>>: $(grep_line /boot)" ;; *) pass ;; esac

# match-uki: a UKI sealed with a V2 digest is recognised as V2.
v2=$("$BOOTSEAL" image digest --format v2 t) || fail "v2 digest"
v1=$("$BOOTSEAL" image digest t) || fail "v1 digest"
[ "$v1" != "$v2" ] && pass || fail "v1 and v2 digests equal"
"$BOOTSEAL" uki build --stub "$STUB" --linux "$LINUX" --cmdline "composefs=$v2 rw" --os-release 'ID=x' --uname 6.1.0 --output v2.efi || fail "uki build"
out=$("$BOOTSEAL" image match-uki v2.efi t) || fail "match-uki v2 exit"
check_eq "match-uki v2" "match: format v2, xattrs allowlist, hash sha512: $v2" "$out"
check_eq "match-uki json" "v2 allowlist" "$("$BOOTSEAL" --json image match-uki v2.efi t | python3 -c 'import json,sys; m=json.load(sys.stdin)["match"]; print(m["format"], m["xattrs"])')"
"$BOOTSEAL" uki build --stub "$STUB" --linux "$LINUX" --cmdline "composefs.digest=v1-sha512-12:$v1" --os-release 'ID=x' --uname 6.1.0 --output v1.efi || fail "uki build v1"
check_eq "match-uki v1" "match: format v1, xattrs allowlist, hash sha512: $v1" "$("$BOOTSEAL" image match-uki v1.efi t)"
# A tree that differs: no match, exit 1, every digest listed.
echo changed > t/usr/bin/tool
rc=0; "$BOOTSEAL" image match-uki v2.efi t > nomatch.txt 2>nomatch.err || rc=$?
check_eq "no-match exit" 1 "$rc"
check_eq "no-match lines" 5 "$(wc -l < nomatch.txt)"
grep -q "no format/xattr mode" nomatch.err && pass || fail "no-match message: $(cat nomatch.err)"
"$BOOTSEAL" uki build --stub "$STUB" --linux "$LINUX" --cmdline "quiet" --os-release 'ID=x' --uname 6.1.0 --output none.efi || fail "uki build none"
expect_error "no karg" "no composefs= karg" "$BOOTSEAL" image match-uki none.efi t
# The same rules from an OCI image: the policy file (> 64 bytes, so an
# external object) is kept in memory without a repository, and read back as
# an object from the repository after import.
PY="python3 $SRC/tests/interop/oci_layout.py"
python3 - > l.json <<'PYJ'
import json
fc = ("/.*                 system_u:object_r:default_t:s0\n"
      "/usr(/.*)?          system_u:object_r:usr_t:s0\n"
      "/usr/bin/.*    --   system_u:object_r:bin_t:s0\n")
print(json.dumps([{"path": p, "type": "dir"} for p in
    ["boot", "sysroot", "usr", "usr/bin", "etc", "etc/selinux", "etc/selinux/tgt", "etc/selinux/tgt/contexts",
     "etc/selinux/tgt/contexts/files"]] + [
    {"path": "usr/bin/tool", "data": "hi\n", "xattrs": {"security.selinux": "container_t"}},
    {"path": "usr/bin/tool2", "type": "hardlink", "link": "usr/bin/tool"},
    {"path": "etc/selinux/config", "data": "SELINUXTYPE=tgt\n"},
    {"path": "etc/selinux/tgt/contexts/files/file_contexts", "data": fc}]))
PYJ
$PY layer l.json l.tar && $PY image img --tag t l.tar || fail "oci layout"
d_oci=$("$BOOTSEAL" image digest --dumpfile o.dump oci:img:t) || fail "oci digest"
case "$(grep -E '^/usr/bin/tool ' o.dump)" in *security.selinux=system_u:object_r:bin_t:s0*) pass ;; *) fail "oci label: $(grep -E '^/usr/bin/tool ' o.dump)" ;; esac
case "$(grep -E '^/etc/selinux/tgt/contexts/files/file_contexts ' o.dump)" in *" - "[0-9a-f]*" security.selinux=system_u:object_r:default_t:s0") pass ;; *) fail "external policy file: $(grep -E '^/etc/selinux/tgt/contexts/files/file_contexts ' o.dump)" ;; esac
export BOOTSEAL_REPO=$TMP/r
"$BOOTSEAL" -q repo init 2>/dev/null
"$BOOTSEAL" -q image import --ref sel oci:img:t > /dev/null || fail "import"
check_eq "digest from the repository" "$d_oci" "$("$BOOTSEAL" image digest sel)"
"$BOOTSEAL" uki build --stub "$STUB" --linux "$LINUX" --cmdline "composefs=$d_oci" --os-release 'ID=x' --uname 6.1.0 --output oci.efi || fail "uki build oci"
check_eq "match-uki ref" "match: format v1, xattrs allowlist, hash sha512: $d_oci" "$("$BOOTSEAL" image match-uki oci.efi sel)"
finish
