#!/usr/bin/env bash
# Runs the two sample scripts of the API documentation (get_jwt.py, get_cases.py) against a
# Stella Ops server, changing only what a user changes: the host, the scheme (http on
# loopback), the API key and the tenant id. Starts its own server on a fresh data directory
# unless STELLA_BASE is set (then STELLA_API_KEY must be set too).
#
#   bash examples/xdr/run-samples.sh            # builds and starts `stella` itself
#
# Exit 0 when both scripts print 200 and get_cases.py prints the seeded cases by score.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=examples/xdr
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

PORT=${PORT:-18089}
BASE=${STELLA_BASE:-http://127.0.0.1:$PORT}
if [ -z "${STELLA_BASE:-}" ]; then
  cargo build -q -p stella
  BIN="${CARGO_TARGET_DIR:-target}/debug/stella"
  "$BIN" init --data-dir "$WORK/data" --email admin@example.com > "$WORK/creds.json"
  "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE/healthz" > /dev/null && break
    sleep 0.1
  done
  STELLA_API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$WORK/creds.json")
fi

# Seed one tenant with three cases, as an analyst's data would be.
JWT=$(curl -sf -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $STELLA_API_KEY" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TENANT=$(curl -sf -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" \
      -H 'Content-Type: application/json' -d '{"name": "sample tenant"}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for c in '"Phishing", "score": 40' '"Ransomware", "score": 95' '"Scan", "score": 10'; do
  curl -sf -X POST "$BASE/connect/api/v1/cases" -H "Authorization: Bearer $JWT" \
       -H 'Content-Type: application/json' -d "{\"name\": $c, \"tenant_id\": \"$TENANT\"}" > /dev/null
done

HOSTPORT=${BASE#*://}
for script in get_jwt.py get_cases.py; do
  sed -e "s|HOST = \"myserver.stellarcyber.cloud\"|HOST = \"$HOSTPORT\"|" \
      -e "s|((\"https\", HOST|((\"http\", HOST|" \
      -e "s|^refresh_token = \".*\"|refresh_token = \"$STELLA_API_KEY\"|" \
      -e "s|tenantid=817418af76d44358922636e34be9627c|tenantid=$TENANT|" \
      "$HERE/$script" > "$WORK/$script"
  echo "== $script"
  python3 "$WORK/$script" | tee "$WORK/$script.out" | sed -E 's/^eyJ[A-Za-z0-9_.-]+$/<jwt>/'
  grep -qx 200 "$WORK/$script.out"
done
# Two 200s (token, cases) and the cases in score order.
[ "$(grep -cx 200 "$WORK/get_cases.py.out")" = 2 ]
grep -q "'name': 'Ransomware'.*'name': 'Phishing'.*'name': 'Scan'" "$WORK/get_cases.py.out"
echo "== samples OK"
