#!/bin/bash
# Registry authentication and TLS against real docker-registry 2.8.2
# instances on loopback (started here, stopped by PID): HTTP Basic with
# htpasswd (--creds, REGISTRY_AUTH_FILE, the server's message on failure),
# Bearer tokens from a small token issuer (tests/lib/token_issuer.py), and a
# self-signed TLS certificate (refused by default, trusted with --cert-dir,
# --tls-verify=false).
source "$SRC/tests/lib.sh"
need umoci skopeo docker-registry htpasswd openssl python3 curl
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing (run tools/setup)"; exit 77; }
source "$SRC/tests/lib/registry.sh"
newrepo() { export BOOTSEAL_REPO=$TMP/$1; "$BOOTSEAL" repo init >/dev/null; }
cd "$TMP"
export HOME=$TMP REGISTRY_AUTH_FILE=$TMP/no-auth.json

mkdir -p base/usr/lib base/etc base/boot base/sysroot
echo auth >base/etc/hostname
head -c 100000 /dev/urandom >base/usr/lib/x.so
umoci init --layout lay
umoci new --image lay:t
umoci insert --image lay:t base / >/dev/null
d=$("$BOOTSEAL" image digest oci:lay:t)
newrepo repo
one_line() { check_eq "$1: one line" 1 "$(wc -l <"$TMP/err")"; }

# HTTP Basic (htpasswd).
start_registry basic basic
B=$REG_URL
skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret oci:lay:t docker://$B/test/a:1
expect_error "basic: no credentials" "^bootseal: error: (import [^ ]+: )?reading manifest 1 in $B/test/a: unauthorized: authentication required" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$B/test/a:1
one_line "basic: no credentials"
expect_error "basic: wrong password" "^bootseal: error: (import [^ ]+: )?reading manifest 1 in $B/test/a: unauthorized: authentication required" \
  "$BOOTSEAL" image pull --tls-verify=false --creds alice:wrong docker://$B/test/a:1
check_eq "basic: --creds" "$d" "$("$BOOTSEAL" image pull -q --tls-verify=false --creds alice:s3cret docker://$B/test/a:1)"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$B" "$(printf alice:s3cret | base64)" >auth.json
check_eq "basic: REGISTRY_AUTH_FILE" "$d" "$(REGISTRY_AUTH_FILE=$TMP/auth.json "$BOOTSEAL" image pull -q --tls-verify=false docker://$B/test/a:1)"
check_eq "basic: --authfile" "$d" "$("$BOOTSEAL" image pull -q --tls-verify=false --authfile auth.json docker://$B/test/a:1)"
mkdir -p .docker && cp auth.json .docker/config.json
check_eq "basic: ~/.docker/config.json" "$d" "$(env -u REGISTRY_AUTH_FILE "$BOOTSEAL" image pull -q --tls-verify=false docker://$B/test/a:1)"
rm -rf .docker
grep -q 'authentication failure' "$REG_LOG" && pass || fail "server log has no authentication failure"

# Bearer tokens.
make_cert "$TMP/token"
start_py token token_issuer.py "$TMP/token/key.pem" "$TMP/token/cert.pem" alice:s3cret
T=$PY_PORT
start_registry bearer token "http://127.0.0.1:$T/token" "$TMP/token/cert.pem"
K=$REG_URL
skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret oci:lay:t docker://$K/test/b:1 && pass || fail "skopeo push with a token"
check_eq "bearer: --creds" "$d" "$("$BOOTSEAL" image pull -q --tls-verify=false --creds alice:s3cret docker://$K/test/b:1)"
grep -q 'GET /token?service=test-registry&scope=repository%3Atest%2Fb%3Apull' "$TMP/token.log" && pass \
  || fail "no token request with the scope: $(grep -c GET "$TMP/token.log") requests"
expect_error "bearer: no credentials" "^bootseal: error: (import [^ ]+: )?requesting a bearer token from http://127.0.0.1:$T/token for $K/test/b: unauthorized: token issuer: bad or missing credentials" \
  "$BOOTSEAL" image pull --tls-verify=false docker://$K/test/b:1
one_line "bearer: no credentials"

# TLS with a self-signed certificate.
start_registry tls tls
S=$REG_URL
CA=$TMP/reg-tls/tls
skopeo copy -q --dest-cert-dir "$CA" oci:lay:t docker://$S/test/c:1
expect_error "tls: untrusted" "^bootseal: error: (import [^ ]+: )?pinging container registry $S: .*(certificate|SSL)" \
  "$BOOTSEAL" image pull --retry-times 0 docker://$S/test/c:1
one_line "tls: untrusted"
check_eq "tls: --cert-dir" "$d" "$("$BOOTSEAL" image pull -q --cert-dir "$CA" docker://$S/test/c:1)"
check_eq "tls: --tls-verify=false" "$d" "$("$BOOTSEAL" image pull -q --tls-verify=false docker://$S/test/c:1)"
mkdir -p empty-certs
expect_error "tls: cert dir without the CA" "(certificate|SSL)" \
  "$BOOTSEAL" image pull --retry-times 0 --cert-dir empty-certs docker://$S/test/c:1
# Plain HTTP to the TLS port is not HTTP: refused unless verification is off... and then HTTPS works.
expect_error "tls: verified https to a plain port" "^bootseal: error: (import [^ ]+: )?pinging container registry $B: .*(SSL|TLS|wrong version)" \
  "$BOOTSEAL" image pull --retry-times 0 docker://$B/test/a:1
finish
