#!/usr/bin/env bash
# Staged upgrades (issue 15), offline on the sysroot and ESP `disk create`
# stages: `switch` writes the UKI and state/staged.origin and leaves the boot
# entries alone; `/etc` edits made after staging survive because the merge is
# done by `finalize`, which swaps the entry set as one; a failing finalize
# leaves the entries and says why in `status`; `upgrade --check` (manifest
# digest, nothing written), `--download-only`, `--apply`, `finalize
# --discard`, gc keeping the staged deployment, the life-cycle lock; and
# `status` in bootc's BootcHost shape (JSON field by field against
# tests/data/bootc/host-composefs-staged.json, YAML, human, --booted).
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox flock
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
B() { "$BOOTSEAL" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
PY="python3 $SRC/tests/interop/oci_layout.py"

mkroot v1 1
cp -a v1 v2; printf 'ID=tiny\nVERSION_ID=2\nPRETTY_NAME="tiny test OS 2"\n' > v2/usr/lib/os-release
echo "hello from v2" > v2/etc/motd; echo "app v2" > v2/usr/bin/app
cp -a v2 v3; echo "app v3" > v3/usr/bin/app; printf 'ID=tiny\nVERSION_ID=3\n' > v3/usr/lib/os-release

B -q keys generate --dir keys >/dev/null
B -q repo init --repo repo >/dev/null
B -q image import --repo repo --ref v1 "dir:$TMP/v1" >/dev/null 2>&1
B -q disk create --repo repo --image v1 --keys keys -o disk.raw --work-dir w --keep-work >/dev/null
S=(--sysroot "$TMP/w/root" --esp "$TMP/w/esp")
D1=$(B -q image digest --repo repo v1)
D2=$(B -q image digest "dir:$TMP/v2")
entries() { (cd w/esp/loader/entries && for f in *; do echo "$f $(md5sum < "$f")"; done); }
snap() { (cd w && find esp root/state root/composefs/streams -printf '%p %s %l\n' | sort) > "$1"; }

# --- switch stages: UKI and record written, entries untouched, no state yet
entries > entries.before
B --json switch "${S[@]}" --keys keys "dir:$TMP/v2" > sw.json 2>sw.err || { cat sw.err; fail "switch v2"; }
check_eq "switch: staged digest" "$D2 True $D1" "$(jget sw.json 'd["digest"]+" "+str(d["staged"])+" "+d["rollback"]')"
entries > entries.after
cmp -s entries.before entries.after && pass || fail "staging changed the boot entries: $(diff entries.before entries.after)"
[ -f "w/esp/EFI/Linux/bootc/bootc_composefs-$D2.efi" ] && pass || fail "staged UKI not on the ESP"
grep -q "^digest=$D2$" w/root/state/staged.origin && pass || fail "staged record: $(cat w/root/state/staged.origin)"
[ ! -e "w/root/state/deploy/$D2" ] && pass || fail "state/deploy of the staged deployment exists before finalize"
B -q repo gc --repo w/root >/dev/null
[ -f "w/root/composefs/images/$D2" ] && pass || fail "repo gc removed the staged image"

# --- status shows it
B --json status "${S[@]}" > st.json
check_eq "status.staged" "$D2 staged" "$(jget st.json 'd["status"]["staged"]["composefs"]["verity"]+" "+d["status"]["staged"]["bootseal"]["role"]')"
check_eq "status.booted (offline: the default)" "$D1" "$(jget st.json 'd["status"]["booted"]["composefs"]["verity"]')"
check_eq "spec.image is the staged one" "dir $TMP/v2" "$(jget st.json 'd["spec"]["image"]["transport"]+" "+d["spec"]["image"]["image"]')"
B status "${S[@]}" > st.txt
grep -q "^  Staged image: dir:$TMP/v2$" st.txt && pass || fail "human: no Staged image line: $(cat st.txt)"
grep -q "^● Booted image: dir:$TMP/v1$" st.txt && pass || fail "human: no Booted image line: $(cat st.txt)"
grep -q "^        Verity: $D2$" st.txt && pass || fail "human: Verity row aligned as bootc's: $(cat st.txt)"

# --- /etc edited after staging, then finalize: the edit is carried over
E1=w/root/state/deploy/$D1/etc
echo "edited after staging" > "$E1/late.conf"
B --json finalize "${S[@]}" > fin.json 2>fin.err || { cat fin.err; fail "finalize"; }
check_eq "finalize: default, rollback" "True $D2 $D1" "$(jget fin.json 'str(d["finalized"])+" "+d["default"]+" "+d["rollback"]')"
check_eq "late /etc edit kept" "edited after staging" "$(cat "w/root/state/deploy/$D2/etc/late.conf" 2>/dev/null)"
check_eq "image's /etc change" "hello from v2" "$(cat "w/root/state/deploy/$D2/etc/motd")"
check_eq "entry 0" "efi /EFI/Linux/bootc/bootc_composefs-$D2.efi" "$(grep ^efi w/esp/loader/entries/bootc_tiny-2-0+3.conf)"
check_eq "entry 1" "efi /EFI/Linux/bootc/bootc_composefs-$D1.efi" "$(grep ^efi w/esp/loader/entries/bootc_tiny-1-1.conf)"
[ ! -e w/root/state/staged.origin ] && pass || fail "staged record left after finalize"
check_eq "finalize with nothing staged" "nothing staged" "$(B finalize "${S[@]}")"
B --json status "${S[@]}" --booted-digest "$D2" > st2.json
check_eq "after finalize: staged/booted/rollback" "None $D2 $D1 False" \
  "$(jget st2.json 'str(d["status"]["staged"])+" "+d["status"]["booted"]["composefs"]["verity"]+" "+d["status"]["rollback"]["composefs"]["verity"]+" "+str(d["status"]["rollbackQueued"])')"

# --- bootc's shape, field by field against the BootcHost fixture
python3 - "$SRC/tests/data/bootc/host-composefs-staged.json" st.json <<'EOF' && pass || fail "BootcHost shape"
import json, sys
ref, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = []
def walk(r, g, path):
    if isinstance(r, dict):
        if not isinstance(g, dict):
            bad.append(f"{path}: expected an object, got {g!r}"); return
        for k, v in r.items():
            if k not in g: bad.append(f"{path}.{k}: missing"); continue
            walk(v, g[k], f"{path}.{k}")
    elif r is None:
        pass  # null in the fixture: any value (or null) is fine
    elif type(r) != type(g) and g is not None:
        bad.append(f"{path}: {type(g).__name__} instead of {type(r).__name__}")
walk(ref, got, "")
# values bootc fixes
for path, want in [("apiVersion", "org.containers.bootc/v1"), ("kind", "BootcHost"), ("metadata.name", "host"),
                   ("spec.bootOrder", "default"), ("status.type", "bootcHost"),
                   ("status.booted.composefs.bootType", "Uki"), ("status.booted.composefs.bootloader", "systemd"),
                   ("status.staged.composefs.bootType", "Uki"), ("status.booted.image.image.transport", "dir")]:
    v = got
    for p in path.split("."): v = v[p]
    if v != want: bad.append(f"{path}: {v!r} != {want!r}")
print("\n".join(bad)); sys.exit(1 if bad else 0)
EOF

# --- YAML is the same document; --booted keeps only the booted slot
B status "${S[@]}" --booted-digest "$D2" --format yaml > st2.yaml
python3 -c "import json,sys,yaml; a=yaml.safe_load(open('st2.yaml')); b=json.load(open('st2.json')); sys.exit(0 if a==b else 1)" && pass || fail "yaml != json: $(head -20 st2.yaml)"
B --json status "${S[@]}" --booted-digest "$D2" --booted > st3.json
check_eq "--booted" "None $D2 None" "$(jget st3.json 'str(d["status"]["staged"])+" "+d["status"]["booted"]["composefs"]["verity"]+" "+str(d["status"]["rollback"])')"
check_eq "--format json equals --json" "$(cat st3.json)" "$(B status "${S[@]}" --booted-digest "$D2" --booted --format json)"
expect_error "bad --format" "format must be yaml, json or humanreadable" B status "${S[@]}" --format xml

# --- boot counting: the new entry is counted ("+3"); systemd-boot's renames read back
check_eq "new entry counted" "3 0 False" "$(jget st2.json '" ".join(str(d["status"]["booted"]["bootseal"]["bootCounting"][k]) for k in ("triesLeft","triesDone","failed"))')"
check_eq "the kept entry is not counted" "None" "$(jget st2.json 'd["status"]["rollback"]["bootseal"]["bootCounting"]')"
mv w/esp/loader/entries/bootc_tiny-2-0+3.conf w/esp/loader/entries/bootc_tiny-2-0+0-3.conf   # as systemd-boot leaves it after 3 failed boots
B --json status "${S[@]}" > bc.json
check_eq "offline: the machine comes up on v1, v2 failed" "$D1 $D2 True" \
  "$(jget bc.json 'd["status"]["booted"]["composefs"]["verity"]+" "+d["status"]["rollback"]["composefs"]["verity"]+" "+str(d["status"]["rollback"]["bootseal"]["bootCounting"]["failed"])')"
B status "${S[@]}" --booted-digest "$D1" > bc.txt
grep -q "Boot tries: failed (+0-3)" bc.txt && pass || fail "human: no failed boot tries: $(cat bc.txt)"
B --json gc "${S[@]}" --booted-digest "$D1" --dry-run > bcgc.json
check_eq "gc keeps the fallback and the failed one" "[]" "$(jget bcgc.json 'str(d["pruned_deployments"])')"
mv w/esp/loader/entries/bootc_tiny-2-0+0-3.conf w/esp/loader/entries/bootc_tiny-2-0+3.conf

# --- a finalize that fails leaves the entries and says why
B -q switch "${S[@]}" --keys keys "dir:$TMP/v3" > /dev/null 2>&1 || fail "stage v3"
D3=$(B -q image digest "dir:$TMP/v3")
mv "w/root/composefs/images/$D3" img3.saved
entries > entries.before
expect_error "finalize with the staged image gone" "finalize" B finalize "${S[@]}"
entries > entries.after
cmp -s entries.before entries.after && pass || fail "a failed finalize changed the entries"
[ ! -e "w/root/state/deploy/$D3" ] && pass || fail "a failed finalize left a state directory"
grep -q "finalize of $D3 failed" w/root/state/staged.failed && pass || fail "no failure record"
B status "${S[@]}" > st4.txt 2>/dev/null || true
grep -q "Finalize: finalize of $D3 failed" st4.txt && pass || fail "status does not say why: $(cat st4.txt)"
B --json status "${S[@]}" > st4.json 2>/dev/null || true
jget st4.json 'd["bootseal"]["finalizeFailed"]' | grep -q "finalize of $D3 failed" && pass || fail "status.json: no finalizeFailed"
mv img3.saved "w/root/composefs/images/$D3"
B -q finalize "${S[@]}" >/dev/null && pass || fail "finalize after the repair"
[ ! -e w/root/state/staged.failed ] && pass || fail "failure record left after a good finalize"
check_eq "v3 is the default" "$D3" "$(B --json status "${S[@]}" | jget /dev/stdin 'd["status"]["booted"]["composefs"]["verity"]')"

# --- --apply offline: staged and finalized at once; finalize --discard drops one
B -q rollback "${S[@]}" >/dev/null
B --json switch "${S[@]}" --keys keys --apply "dir:$TMP/v3" > ap.json 2>/dev/null || fail "--apply"
check_eq "--apply: finalized" "$D3 False" "$(jget ap.json 'd["finalized"]["default"]+" "+str(d["staged"])')"
expect_error "--check on a directory origin" "is a directory" B upgrade "${S[@]}" --check
B -q switch "${S[@]}" --keys keys "dir:$TMP/v1" >/dev/null 2>&1
[ -f "w/esp/EFI/Linux/bootc/bootc_composefs-$D1.efi" ] && pass || fail "staged v1 UKI"
B --json gc "${S[@]}" --dry-run > gc.json
jget gc.json 'd["pruned_deployments"]' | grep -q "$D1" && fail "gc would prune the staged deployment" || pass
check_eq "finalize --discard" "discarded the staged deployment $D1" "$(B finalize "${S[@]}" --discard)"
[ ! -e w/root/state/staged.origin ] && [ ! -e "w/esp/EFI/Linux/bootc/bootc_composefs-$D1.efi" ] && pass || fail "discard left the record or the UKI"

# --- upgrade --check / --download-only on an OCI layout origin
tar -C v2 -cf l2.tar . && $PY image oci2 --tag v2 l2.tar
B -q switch "${S[@]}" --keys keys --apply "oci:$TMP/oci2:v2" >/dev/null 2>&1 || fail "switch to oci:"
snap before
B upgrade "${S[@]}" --check > chk.txt
check_eq "--check, same manifest" "No changes in: oci:$TMP/oci2:v2" "$(cat chk.txt)"
B --json status "${S[@]}" > st5.json
check_eq "version from the image label" "42.1" "$(jget st5.json 'd["status"]["booted"]["image"]["version"]')"
check_eq "timestamp, architecture" "2026-01-01T00:00:00Z amd64" "$(jget st5.json 'd["status"]["booted"]["image"]["timestamp"]+" "+d["status"]["booted"]["image"]["architecture"]')"
jget st5.json 'd["status"]["booted"]["image"]["imageDigest"]' | grep -qE '^sha256:[0-9a-f]{64}$' && pass || fail "imageDigest"
echo "app v2b" > v2/usr/bin/app; tar -C v2 -cf l2.tar . && rm -rf oci2 && $PY image oci2 --tag v2 l2.tar
B --json upgrade "${S[@]}" --check > chk.json
check_eq "--check, new manifest" "True" "$(jget chk.json 'str(d["update_available"])')"
B -q upgrade "${S[@]}" --download-only >/dev/null 2>&1 || fail "--download-only"
B -q repo ls --repo w/root 2>/dev/null | grep -q "bootseal/download" && pass || fail "no bootseal/download reference"
snap after
diff before after | grep -v 'composefs/streams' | grep -q . && fail "--check/--download-only changed the ESP or state: $(diff before after | head)" || pass
expect_error "--check with --apply" "cannot be combined" B upgrade "${S[@]}" --check --apply

# --- the lock: a second life-cycle command is refused, nothing changed
snap before
exec 9<w/root/state
flock -n 9 || fail "could not take the lock"
expect_error "switch while locked" "another bootseal life-cycle command is running" B switch "${S[@]}" --keys keys "dir:$TMP/v1"
expect_error "finalize while locked" "another bootseal life-cycle command is running" B finalize "${S[@]}"
expect_error "rollback while locked" "another bootseal life-cycle command is running" B rollback "${S[@]}"
exec 9<&-
snap after
cmp -s before after && pass || fail "a refused command changed something: $(diff before after | head -5)"
finish
