#!/bin/bash
# Test Secure Boot keys until `bootseal keys generate` exists: mkkeys.sh DIR
# writes PK/KEK/db .key and .crt (PEM, RSA 2048, self-signed; the chain is not
# checked by virt-fw-vars enrollment), plus .esl and .auth files.
set -euo pipefail
d=$1; mkdir -p "$d"
for k in PK KEK db; do
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=bootseal test $k/" \
    -keyout "$d/$k.key" -out "$d/$k.crt" 2>/dev/null
done
# EFI signature lists and time-based authenticated variables (efitools) for
# systemd-boot's auto-enrollment: PK self-signed, KEK signed by PK, db signed by KEK.
guid=${OWNER_GUID:-7c5bd4b8-2f5e-4a36-9a5f-b0075ea1b001}
for k in PK KEK db; do cert-to-efi-sig-list -g "$guid" "$d/$k.crt" "$d/$k.esl" >/dev/null; done
sign-efi-sig-list -k "$d/PK.key" -c "$d/PK.crt" PK "$d/PK.esl" "$d/PK.auth" >/dev/null
sign-efi-sig-list -k "$d/PK.key" -c "$d/PK.crt" KEK "$d/KEK.esl" "$d/KEK.auth" >/dev/null
sign-efi-sig-list -k "$d/KEK.key" -c "$d/KEK.crt" db "$d/db.esl" "$d/db.auth" >/dev/null
