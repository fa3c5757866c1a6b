# Registry fixtures for tests: Debian's docker-registry (CNCF distribution
# 2.8.2) started as the test's own process with its own config (temporary
# storage; optional htpasswd, TLS, token auth), on a free loopback port, and
# stopped by PID when the test exits. Sourced after tests/lib.sh.
REG_PIDS=()
trap 'for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [LOG]: until anything answers (any HTTP status), at most 30 s.
wait_http() {
  for _ in $(seq 1 300); do
    curl -sk --noproxy '*' -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  [ -n "${2:-}" ] && tail -5 "$2" >&2
  return 1
}

# start_registry NAME [basic] [tls] [token REALM_URL CERT]: sets REG_PORT,
# REG_ROOT (the storage root), REG_PID, REG_LOG and REG_URL (host:port).
start_registry() {
  local name=$1; shift
  local dir="$TMP/reg-$name"
  mkdir -p "$dir/store"
  REG_PORT=$(free_port)
  REG_ROOT="$dir/store"
  REG_LOG="$dir/log"
  REG_URL="127.0.0.1:$REG_PORT"
  {
    echo "version: 0.1"
    echo "log: {level: info, accesslog: {disabled: true}}"
    echo "storage: {filesystem: {rootdirectory: $dir/store}, delete: {enabled: true}}"
    local tls=""
    local scheme=http
    while [ $# -gt 0 ]; do
      case $1 in
        basic)
          htpasswd -Bbn alice s3cret >"$dir/htpasswd" 2>/dev/null
          echo "auth: {htpasswd: {realm: test-realm, path: $dir/htpasswd}}"; shift ;;
        tls)
          make_cert "$dir/tls"
          tls=", tls: {certificate: $dir/tls/cert.pem, key: $dir/tls/key.pem}"; scheme=https; shift ;;
        token)
          echo "auth: {token: {realm: \"$2\", service: test-registry, issuer: test-issuer, rootcertbundle: $3}}"; shift 3 ;;
        *) echo "start_registry: unknown option $1" >&2; return 1 ;;
      esac
    done
    echo "http: {addr: 127.0.0.1:$REG_PORT, secret: test-only-secret$tls}"
  } >"$dir/config.yml"
  # A clean environment: the registry reads REGISTRY_* variables as configuration.
  env -i PATH="$PATH" docker-registry serve "$dir/config.yml" >"$REG_LOG" 2>&1 &
  REG_PID=$!
  REG_PIDS+=("$REG_PID")
  wait_http "$scheme://$REG_URL/v2/" "$REG_LOG"
}

# make_cert DIR: a self-signed certificate for 127.0.0.1 (DIR/cert.pem, key.pem, ca.crt).
make_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
  cp "$1/cert.pem" "$1/ca.crt"
}

# start_py NAME SCRIPT ARGS...: a python helper of tests/lib listening on a
# free port passed as its first argument; sets PY_PORT.
start_py() {
  local name=$1 script=$2; shift 2
  PY_PORT=$(free_port)
  python3 "$SRC/tests/lib/$script" "$PY_PORT" "$@" >"$TMP/$name.log" 2>&1 &
  REG_PIDS+=("$!")
  wait_http "http://127.0.0.1:$PY_PORT/" "$TMP/$name.log"
}

# storage_blob DIGEST: the data file of a blob in the current registry's storage.
storage_blob() {
  local hex=${1#sha256:}
  echo "$REG_ROOT/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}
