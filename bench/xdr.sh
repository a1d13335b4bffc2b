#!/usr/bin/env bash
# Reproduces the Open XDR figures in BENCHMARKS.md with the in-repo load generator
# (crates/stella-bench), against a release server on loopback with its own data directory.
#
#   bench/xdr.sh                         # ingest 1M events, search, list 100k cases
#   EVENTS=5000000 bench/xdr.sh          # the 5M-event search figures
#   DATA=/var/tmp/stella-bench bench/xdr.sh   # keep the data to re-run search only:
#   KEEP=1 SKIP_INGEST=1 DATA=/var/tmp/stella-bench bench/xdr.sh
#   WATCH=1 bench/xdr.sh                 # with a search a second during the ingest
#   WATCHLIST=1 bench/xdr.sh             # with a 20-entry watchlist matching ~8% of events
#   SPREAD_HOURS=1 bench/xdr.sh          # timestamps in the last hour (default: the last 7 days)
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

# BIN=<dir with stella and stella-bench> runs prebuilt binaries (e.g. to compare two builds).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella -p stella-bench
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
PID=""
WATCHER=""
cleanup() {
  [ -n "$WATCHER" ] && kill "$WATCHER" 2>/dev/null
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$DATA"
}
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

if [ -n "${WATCHLIST:-}" ]; then
  # Twenty indicators, as a SOC would watch: destination addresses the synthetic events use
  # (each in ~1 of 254 events) and user names (~1 in 5,000): about 8% of events match one.
  ENTRIES=$(python3 -c 'import json; print(json.dumps([f"192.0.2.{i}" for i in range(1, 11)] + [f"user{i:04}" for i in range(10)]))')
  curl -fs -X POST "$BASE/connect/api/v1/watchlists" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' \
    -d "{\"name\": \"iocs\", \"tenant_id\": \"$TENANT\", \"entries\": $ENTRIES, \"severity\": \"high\"}" >/dev/null
fi

B="$BIN/stella-bench --base $BASE"
if [ -z "${SKIP_INGEST:-}" ]; then
  count() { curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_search?tenantid=$TENANT" -H "Authorization: Bearer $JWT" \
    -H 'content-type: application/json' -d '{"size":0,"track_total_hits":true,"query":{"match_all":{}}}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["hits"]["total"]["value"])'; }
  # Server CPU (user + system clock ticks) around the ingest: steadier than the rate when
  # other work shares the machine.
  cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
  N0=$(count)
  C0=$(cpu)
  T0=$(date +%s.%N)
  if [ -n "${WATCH:-}" ]; then
    # A search a second during the ingest, as an open dashboard would: the index then keeps
    # committing every second instead of holding commits back while nothing reads.
    ( while :; do curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_search" -H "Authorization: Bearer $JWT" \
        -H 'content-type: application/json' -d '{"size":0}' >/dev/null; sleep 1; done ) &
    WATCHER=$!
  fi
  $B ingest --tenant "$TENANT" --events "$EVENTS" --seconds "$SECONDS_MAX" --batch "$BATCH" --concurrency "$CONC" ${SPREAD_HOURS:+--spread-hours "$SPREAD_HOURS"}
  if [ -n "$WATCHER" ]; then kill "$WATCHER"; wait "$WATCHER" 2>/dev/null || true; WATCHER=""; fi
  # The generator's rate counts acknowledged (durable) events; the sustained rate counts until
  # they are all searchable, so a refresh (commit of whatever the indexer still holds) is
  # included, and the generator's setup (building its request bodies) too.
  TR=$(date +%s.%N)
  curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_refresh" -H "Authorization: Bearer $JWT" >/dev/null
  T1=$(date +%s.%N)
  python3 -c 'import sys; print(f"final refresh: {float(sys.argv[2]) - float(sys.argv[1]):.1f} s")' "$TR" "$T1"
  C1=$(cpu)
  N=$(( $(count) - N0 ))
  python3 -c 'import sys; n, s, c = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]), (int(sys.argv[5]) - int(sys.argv[4])) / 100
print(f"searchable: {n} events in {s:.1f} s = {n / s:.0f} events/s (ingest until refreshed); server CPU {c:.1f} s = {c * 1e6 / max(n, 1):.0f} us/event")' "$N" "$T0" "$T1" "$C0" "$C1"
fi
$B search --runs "${RUNS:-200}"
if [ -z "${SKIP_CASES:-}" ]; then
  $B list-cases --tenant "$TENANT" --count "$CASES" --page "${PAGE:-100}"
fi
