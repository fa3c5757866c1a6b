#!/bin/bash
# Test Secure Boot keys until `bootseal keys generate` exists: mkkeys.sh DIR
# writes PK/KEK/db .key and .crt (PEM, RSA 2048, self-signed; the chain is not
# checked by virt-fw-vars enrollment).
set -euo pipefail
d=$1; mkdir -p "$d"
for k in PK KEK db; do
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=bootseal test $k/" \
    -keyout "$d/$k.key" -out "$d/$k.crt" 2>/dev/null
done
