#!/usr/bin/env bash
# Reproduces the Open XDR figures in BENCHMARKS.md with the in-repo load generator
# (crates/stella-bench), against a release server on loopback with its own data directory.
#
#   bench/xdr.sh                         # ingest 1M events, search, list 100k cases
#   EVENTS=5000000 bench/xdr.sh          # the 5M-event search figures
#   DATA=/var/tmp/stella-bench bench/xdr.sh   # keep the data to re-run search only:
#   KEEP=1 SKIP_INGEST=1 DATA=/var/tmp/stella-bench bench/xdr.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
SECONDS_MAX=${SECONDS_MAX:-600}
BATCH=${BATCH:-1000}
CONC=${CONC:-4}
CASES=${CASES:-100000}
PORT=${PORT:-18091}
BASE="http://127.0.0.1:$PORT"
DATA=${DATA:-$(mktemp -d)/data}

cargo build --release -q -p stella -p stella-bench
BIN="${CARGO_TARGET_DIR:-target}/release"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$DATA"; }
trap cleanup EXIT

if [ ! -f "$DATA/creds.json" ]; then
  mkdir -p "$(dirname "$DATA")"
  "$BIN/stella" init --data-dir "$DATA" --email bench@example.com > "$DATA.creds.json"
  mv "$DATA.creds.json" "$DATA/creds.json"
fi
# The rate limit is raised so the generator measures the server, not the limiter.
"$BIN/stella" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" --rate-limit-per-second 1000000000 --log warn &
PID=$!
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
export API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$DATA/creds.json")
JWT=$(curl -fs -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TENANT=$(curl -fs "$BASE/connect/api/v1/tenants?limit=1&sort=created_at&order=asc" -H "Authorization: Bearer $JWT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d[0]["id"] if d else "")')
if [ -z "$TENANT" ]; then
  TENANT=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fi

B="$BIN/stella-bench --base $BASE"
if [ -z "${SKIP_INGEST:-}" ]; then
  $B ingest --tenant "$TENANT" --events "$EVENTS" --seconds "$SECONDS_MAX" --batch "$BATCH" --concurrency "$CONC"
fi
$B search --runs "${RUNS:-200}"
if [ -z "${SKIP_CASES:-}" ]; then
  $B list-cases --tenant "$TENANT" --count "$CASES" --page "${PAGE:-100}"
fi
