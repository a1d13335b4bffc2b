#!/usr/bin/env bash
# Several servers as one deployment: the figures of BENCHMARKS.md "Several servers (issue 12)".
# Three release servers on loopback sharing a fresh PostgreSQL database and a JetStream stream
# of this run's own (both deleted at the end), optionally Redis:
#   1. bulk ingest spread over the three (one generator per server), with the term query run
#      every 250 ms on each server meanwhile (search latency during ingest);
#   2. the time until every event is searchable on every server, and the CPU per event of the
#      three servers and of nats-server;
#   3. revocation propagation (an API key revoked on one server, refused by another).
#
#   bench/cluster.sh                          # 300,000 events
#   EVENTS=600000 REDIS=1 bench/cluster.sh    # with the shared limits in Redis
#   BIN=/path/to/release bench/cluster.sh     # prebuilt stella and stella-bench
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-300000}
CONC=${CONC:-2}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
PORT0=${PORT:-18100}
ROUNDS=${ROUNDS:-100}

if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella -p stella-bench
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
RUN=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
DB="stella_bench_$RUN"
STREAM="STELLA_BENCH_$RUN"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  # JetStream's API over the plain protocol: a request to delete this run's stream.
  { printf 'CONNECT {"verbose":false}\r\nSUB _INBOX.bench 1\r\nPUB $JS.API.STREAM.DELETE.%s _INBOX.bench 0\r\n\r\nPING\r\n' "$STREAM"; sleep 1; } \
    | timeout 3 bash -c "exec 3<>/dev/tcp/${NATS_URL#nats://}"'; cat >&3 & head -c 4000 <&3 >/dev/null' 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql "$PG_ADMIN" -q -c "CREATE DATABASE $DB" >/dev/null
cat > "$WORK/stella.toml" <<EOF
database_url = "${PG_ADMIN%/*}/$DB"
nats_url = "$NATS_URL"
nats_stream = "$STREAM"
rate_limit_per_second = 1000000000
log = "warn"
EOF
[ -n "${REDIS:-}" ] && echo 'redis_url = "redis://127.0.0.1:6379"' >> "$WORK/stella.toml"
export STELLA_DEPLOYMENT_SECRET="bench-deployment-secret-0123456789abcdef"
"$BIN/stella" init --config "$WORK/stella.toml" --data-dir "$WORK/n0" --email bench@example.com > "$WORK/creds.json"
BASES=()
for i in 0 1 2; do
  port=$((PORT0 + i))
  "$BIN/stella" serve --config "$WORK/stella.toml" --data-dir "$WORK/n$i" --listen "127.0.0.1:$port" &
  PIDS+=($!)
  BASES+=("http://127.0.0.1:$port")
done
for b in "${BASES[@]}"; do
  for _ in $(seq 200); do curl -fs "$b/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done
export API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$WORK/creds.json")
JWT=$(curl -fs -X POST "${BASES[0]}/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TENANT=$(curl -fs -X POST "${BASES[0]}/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

NATS_PID=$(pgrep -o nats-server || echo "")
ticks() { # CPU clock ticks of the given pids, summed
  local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
count() { curl -fs -X POST "$1/connect/api/v1/data/aella-ser/_search" -H "Authorization: Bearer $JWT" \
  -H 'content-type: application/json' -d '{"size":0,"track_total_hits":true,"query":{"match_all":{}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["hits"]["total"]["value"])'; }

echo "== $EVENTS events over 3 servers ($CONC requests in flight each), JetStream stream $STREAM"
C0=$(ticks "${PIDS[@]}"); N0=$([ -n "$NATS_PID" ] && ticks "$NATS_PID" || echo 0); T0=$(date +%s.%N)
GEN=()
for i in 0 1 2; do
  "$BIN/stella-bench" --base "${BASES[$i]}" ingest --tenant "$TENANT" --events $((EVENTS / 3)) --concurrency "$CONC" > "$WORK/ingest$i" &
  GEN+=($!)
done
WATCH=()
for i in 0 1 2; do
  "$BIN/stella-bench" --base "${BASES[$i]}" watch --seconds 3600 --interval-ms 250 --stop-file "$WORK/stop" > "$WORK/watch$i" &
  WATCH+=($!)
done
for g in "${GEN[@]}"; do wait "$g"; done
TA=$(date +%s.%N)
touch "$WORK/stop"
for w in "${WATCH[@]}"; do wait "$w"; done
# Searchable on every server: each _refresh waits until that server has the whole stream.
for b in "${BASES[@]}"; do curl -fs -X POST "$b/connect/api/v1/data/aella-ser/_refresh" -H "Authorization: Bearer $JWT" >/dev/null; done
T1=$(date +%s.%N)
C1=$(ticks "${PIDS[@]}"); N1=$([ -n "$NATS_PID" ] && ticks "$NATS_PID" || echo 0)
for i in 0 1 2; do sed -n 's/^/  server '"$i"' /p' "$WORK/ingest$i"; done
for i in 0 1 2; do echo "  server $i holds $(count "${BASES[$i]}") events"; done
python3 - "$EVENTS" "$T0" "$TA" "$T1" "$C0" "$C1" "$N0" "$N1" <<'PY'
import sys
n, t0, ta, t1 = int(sys.argv[1]), *map(float, sys.argv[2:5])
c0, c1, n0, n1 = map(int, sys.argv[5:9])
hz = 100
print(f"acknowledged: {n / (ta - t0):.0f} events/s; searchable on all three: {n / (t1 - t0):.0f} events/s "
      f"({t1 - ta:.1f} s of catching up after the last acknowledgement)")
print(f"CPU: three servers {(c1 - c0) / hz * 1e6 / n:.0f} us an event ({(c1 - c0) / hz * 1e6 / n / 3:.0f} per server), "
      f"nats-server {(n1 - n0) / hz * 1e6 / n:.0f} us an event")
PY
echo "== search on each server during the ingest (term query every 250 ms)"
for i in 0 1 2; do cat "$WORK/watch$i"; done

echo "== revocation propagation, $ROUNDS rounds (revoked on server 0, refused by server 1)"
"$BIN/stella-bench" --base "${BASES[0]}" revocation --other "${BASES[1]}" --rounds "$ROUNDS"
