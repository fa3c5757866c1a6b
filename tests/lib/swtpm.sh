# swtpm fixture for TPM tests (sourced after tests/lib.sh). One swtpm per test: its own
# state directory under $TMP, two free TCP ports, dictionary-attack counter reset after
# start, tpm2_shutdown before it is stopped (a kill without it counts as a DA strike),
# stopped by PID. Sets SWTPM_TCTI (for bootseal/systemd) and TPM2TOOLS_TCTI.
SWTPM_DIR=$TMP/swtpm
SWTPM_PID=

# Two consecutive free ports (the swtpm TCTI takes the control port as port + 1).
swtpm_free_ports() {
  python3 -c 'import socket, random
while True:
    p = random.randrange(20000, 60000, 2)
    s = [socket.socket() for _ in range(2)]
    try:
        for i, x in enumerate(s): x.bind(("127.0.0.1", p + i))
    except OSError:
        continue
    finally:
        for x in s: x.close()
    print(p, p + 1); break'
}

swtpm_start() {
  mkdir -p "$SWTPM_DIR/state"
  if [ -z "${SWTPM_PORT:-}" ]; then read -r SWTPM_PORT SWTPM_CTRL_PORT < <(swtpm_free_ports); fi
  swtpm socket --tpm2 --server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port="$SWTPM_CTRL_PORT",bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --tpmstate dir="$SWTPM_DIR/state" --log file="$SWTPM_DIR/log",level=1 >/dev/null 2>&1 &
  SWTPM_PID=$!
  SWTPM_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
  export TPM2TOOLS_TCTI=$SWTPM_TCTI
  local i
  for i in $(seq 100); do
    tpm2_getcap properties-variable >/dev/null 2>&1 && break
    sleep 0.1
  done
  tpm2_dictionarylockout -c >/dev/null
  tpm2_dictionarylockout -s -n 32 -t 10 -l 10 >/dev/null
}

swtpm_stop() {
  [ -n "$SWTPM_PID" ] || return 0
  tpm2_shutdown >/dev/null 2>&1 || true
  kill "$SWTPM_PID" 2>/dev/null || true
  wait "$SWTPM_PID" 2>/dev/null || true
  SWTPM_PID=
}

# A reboot: PCRs back to zero, NV (the SRK) kept; same ports.
swtpm_reboot() { swtpm_stop; swtpm_start; }

trap 'swtpm_stop; rm -rf "$TMP"' EXIT

# What firmware and systemd-stub would measure: PCR 7 gets one event; PCR 11 gets each
# present UKI section (sha256(".name\0") then sha256(data)) from directory $1, then
# sha256(phase) for each further argument.
measure_firmware() { tpm2_pcrextend 7:sha256="$(printf 'secure-boot-db' | sha256sum | cut -d' ' -f1)"; }
measure_uki() {
  local dir=$1 s; shift
  for s in linux osrel cmdline initrd splash dtb uname sbat pcrpkey; do
    [ -e "$dir/$s" ] || continue
    tpm2_pcrextend 11:sha256="$(printf '.%s\0' "$s" | sha256sum | cut -d' ' -f1)"
    tpm2_pcrextend 11:sha256="$(sha256sum <"$dir/$s" | cut -d' ' -f1)"
  done
  for s in "$@"; do tpm2_pcrextend 11:sha256="$(printf '%s' "$s" | sha256sum | cut -d' ' -f1)"; done
}
# A UKI's sections as files, for bootseal pcr sign --linux= ...
make_uki_sections() {  # DIR CMDLINE
  mkdir -p "$1"
  printf 'LINUX-KERNEL-IMAGE' >"$1/linux"
  printf 'ID=bootseal-test\n' >"$1/osrel"
  printf '%s' "$2" >"$1/cmdline"
}
sign_uki() {  # DIR PRIVATE PUBLIC OUT
  "$BOOTSEAL" pcr sign --linux="$1/linux" --osrel="$1/osrel" --cmdline="$1/cmdline" \
    --private-key "$2" --public-key "$3" --phase enter-initrd -o "$4"
}

# A LUKS2 image file with passphrase $TMP/pass in keyslot 0 (fast PBKDF for tests).
make_luks_image() {  # IMG
  printf 'correct horse battery staple' >"$TMP/pass"
  truncate -s 32M "$1"
  cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file "$TMP/pass" "$1" >/dev/null
}
# The LUKS2 header and keyslot area (everything before the data offset).
header_sum() { head -c 16M "$1" | sha256sum | cut -d' ' -f1; }

# systemd 254 (bookworm-backports, unpacked by tools/fetch-payloads): systemd-cryptenroll
# and the systemd-tpm2 token plugin run in a private mount namespace with the 254 plugin
# directory bound over the host's (the host's own plugin may be another version and must
# not join the process: docs/tpm.md).
SD254=${BOOTSEAL_PAYLOADS:-/var/cache/bootseal/payloads}/systemd
need_systemd254() {
  [ -x "$SD254/usr/bin/systemd-cryptenroll" ] || { echo "SKIP: run tools/fetch-payloads (systemd 254)"; exit 77; }
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (private mount namespace)"; exit 77; }
  cc -O1 -o "$TMP/tokopen" "$SRC/tests/helpers/tokopen.c" -lcryptsetup
}
sd254() {  # CMD ARGS... inside the namespace
  local lib=$SD254/usr/lib/x86_64-linux-gnu
  unshare -m sh -c 'mount --bind "$0/cryptsetup" /usr/lib/x86_64-linux-gnu/cryptsetup && exec env LD_LIBRARY_PATH="$0/systemd" "$@"' \
    "$lib" "$@"
}
cryptenroll254() { sd254 "$SD254/usr/bin/systemd-cryptenroll" --tpm2-device="$SWTPM_TCTI" "$@"; }
# systemd 254's own token plugin opens token $2 of image $1 (check only) [signature $3] [pin $4]
plugin254_unlock() { sd254 "$TMP/tokopen" "$1" "$2" "$SWTPM_TCTI" "${3:-}" "${4:-}"; }

# signed_boot_fixture: a started swtpm as a genuine boot left it (firmware in PCR 7,
# the UKI's sections in PCR 11 for enter-initrd), a PCR key pair $TMP/pcr.{key,pub}
# and that UKI's signed policy $TMP/sig.json; the UKI's sections are in $TMP/uki.
signed_boot_fixture() {
  swtpm_start
  measure_firmware
  make_uki_sections "$TMP/uki" "root=/dev/sda2 quiet"
  measure_uki "$TMP/uki" enter-initrd
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/pcr.key" 2>/dev/null
  openssl pkey -in "$TMP/pcr.key" -pubout -out "$TMP/pcr.pub"
  sign_uki "$TMP/uki" "$TMP/pcr.key" "$TMP/pcr.pub" "$TMP/sig.json"
}
