#!/usr/bin/env bash
# Reproduces the data-lifecycle figures in BENCHMARKS.md (issue 15) against a release server on
# loopback with its own data directory:
#   1. ingest EVENTS events into one tenant, EVENTS/DAYS in each UTC day before today, a day at
#      a time (server CPU an event);
#   2. search p95 over the whole pattern (`INDEX`, default aella-ser-*) and a 24 h histogram;
#   3. (LIFECYCLE=1) ingest and a search watch for 30 s, alone and then with `stella backup`
#      running: backup throughput and what it costs ingest and search;
#   4. (LIFECYCLE=1) a retention run that keeps 1 day: what it removed, how long, server CPU.
#
#   SERVER=/path/to/release BENCH=/path/to/release EVENTS=30000000 DAYS=30 LIFECYCLE=1 bash bench/lifecycle.sh
#   SERVER=/path/to/old-release BENCH=/path/to/release EVENTS=30000000 DAYS=30 bash bench/lifecycle.sh
#
# SERVER holds `stella` (an older release compares search over one index per tenant), BENCH
# holds `stella-bench` (this tree's: it talks HTTP only). Default: build both from this tree.
# IDLE_SECS (servers with final merges): `events_idle_writer_secs`; after ingest the script waits
# until every idle day is merged to one segment and reports that work before searching.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-30000000}
DAYS=${DAYS:-30}
INDEX=${INDEX:-aella-ser-*}
PORT=${PORT:-18095}
BASE="http://127.0.0.1:$PORT"
DATA=${DATA:-$(mktemp -d)/data}
BACKUP=${BACKUP:-$(dirname "$DATA")/backup}
if [ -z "${SERVER:-}" ] || [ -z "${BENCH:-}" ]; then
  cargo build --release -q -p stella -p stella-bench
  SERVER=${SERVER:-${CARGO_TARGET_DIR:-target}/release}
  BENCH=${BENCH:-${CARGO_TARGET_DIR:-target}/release}
fi
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$DATA" "$BACKUP"
}
trap cleanup EXIT

mkdir -p "$(dirname "$DATA")"
"$SERVER/stella" init --data-dir "$DATA" --email bench@example.com > "$DATA.creds.json"
mv "$DATA.creds.json" "$DATA/creds.json"
CONFIG=()
if [ -n "${IDLE_SECS:-}" ]; then
  printf 'events_idle_writer_secs = %s\n' "$IDLE_SECS" > "$DATA/bench.toml"
  CONFIG=(--config "$DATA/bench.toml")
fi
"$SERVER/stella" serve "${CONFIG[@]}" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --rate-limit-per-second 1000000000 --log warn &
PID=$!
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
export API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$DATA/creds.json")
jwt() { curl -fs -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
JWT=$(jwt)
TENANT=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
B="$BENCH/stella-bench --base $BASE"
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
cores() { python3 -c 'import sys; c = (int(sys.argv[2]) - int(sys.argv[1])) / 100; w = float(sys.argv[4]) - float(sys.argv[3]); print(f"server CPU {c:.1f} s in {w:.1f} s wall = {c / w:.2f} cores")' "$@"; }
per() { python3 -c 'import sys; c = (int(sys.argv[2]) - int(sys.argv[1])) / 100; n = int(sys.argv[3]); print(f"server CPU {c:.1f} s = {c * 1e6 / max(n, 1):.1f} us/{sys.argv[4]}")' "$@"; }

echo "== $(date -u +%T) ingest $EVENTS events, $((EVENTS / DAYS)) in each of the $DAYS days before today"
C0=$(cpu); T0=$(date +%s.%N)
for d in $(seq "$DAYS"); do
  # A day at a time, oldest first, as live ingest fills partitions.
  $B ingest --tenant "$TENANT" --events $((EVENTS / DAYS)) --seconds 7200 --batch 1000 --concurrency 4 --day $((DAYS + 1 - d))
done
JWT=$(jwt) # the first one expired during a long ingest
curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_refresh" -H "Authorization: Bearer $JWT" >/dev/null
T1=$(date +%s.%N); C1=$(cpu)
python3 -c 'import sys; print(f"searchable after {float(sys.argv[2]) - float(sys.argv[1]):.0f} s")' "$T0" "$T1"
per "$C0" "$C1" "$EVENTS" event
du -sh "$DATA/events"
segments() { python3 -c '
import glob, json, sys
n = [len(json.load(open(m))["segments"]) for m in glob.glob(sys.argv[1] + "/**/meta.json", recursive=True)]
print(f"{len(n)} indexes, {sum(n)} segments (most in one: {max(n, default=0)})")' "$DATA/events"; }
segments
if [ -n "${IDLE_SECS:-}" ]; then
  echo "== $(date -u +%T) waiting for the final merges of idle days"
  for _ in $(seq 36000); do
    OPEN=$(curl -fs "$BASE/metrics" -H "Authorization: Bearer $JWT" | awk '$1 == "stella_events_open_writers" {print $2}')
    [ "$OPEN" = "0" ] && break
    sleep 0.1
  done
  T2=$(date +%s.%N); C2=$(cpu)
  python3 -c 'import sys; print(f"every day merged {float(sys.argv[2]) - float(sys.argv[1]):.0f} s after searchable")' "$T1" "$T2"
  per "$C1" "$C2" "$EVENTS" "event after ingest"
  per "$C0" "$C2" "$EVENTS" "event, ingest and merges"
  segments
fi

echo "== $(date -u +%T) search over $INDEX"
$B search --runs "${RUNS:-100}" --index "$INDEX"
JWT=$(jwt)
curl -fs "$BASE/connect/api/v1/storage_usage" -H "Authorization: Bearer $JWT"; echo

[ -n "${LIFECYCLE:-}" ] || exit 0

echo "== $(date -u +%T) 30 s of ingest and a search watch, without a backup"
C0=$(cpu); T0=$(date +%s.%N)
$B watch --seconds 30 --interval-ms 250 > /tmp/lifecycle-watch.txt &
W=$!
$B ingest --tenant "$TENANT" --events 100000000 --seconds 30 --batch 1000 --concurrency 4 --spread-hours 24
wait "$W"; cat /tmp/lifecycle-watch.txt
cores "$C0" "$(cpu)" "$T0" "$(date +%s.%N)"

echo "== $(date -u +%T) the same, with stella backup running"
rm -rf "$BACKUP"
C0=$(cpu); T0=$(date +%s.%N)
$B watch --seconds 30 --interval-ms 250 > /tmp/lifecycle-watch.txt &
W=$!
$B ingest --tenant "$TENANT" --events 100000000 --seconds 30 --batch 1000 --concurrency 4 --spread-hours 24 &
I=$!
sleep 2
TB0=$(date +%s.%N)
/usr/bin/time -f "backup: %e s wall, %U s user, %S s system, %M KiB max RSS" "$SERVER/stella" backup --data-dir "$DATA" --to "$BACKUP"
TB1=$(date +%s.%N)
wait "$I"; wait "$W"; cat /tmp/lifecycle-watch.txt
cores "$C0" "$(cpu)" "$T0" "$(date +%s.%N)"
SIZE=$(du -sb "$BACKUP" | cut -f1)
python3 -c 'import sys; b, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f"backup: {b / 1e9:.2f} GB in {s:.1f} s = {b / 1e6 / s:.0f} MB/s")' "$SIZE" "$TB0" "$TB1"

echo "== $(date -u +%T) a retention run keeping 1 day"
JWT=$(jwt)
curl -fs -X PUT "$BASE/connect/api/v1/retention/$TENANT" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d '{"events_days": 1}' >/dev/null
C0=$(cpu); T0=$(date +%s.%N)
JOB=$(curl -fs -X POST "$BASE/cluster/retention/run" -H "Authorization: Bearer $JWT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["job"])')
for _ in $(seq 6000); do
  RUN=$(curl -fs "$BASE/cluster/retention" -H "Authorization: Bearer $JWT" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]:
    if r["job"] == sys.argv[1] and r["finished_at"]:
        print(json.dumps(r))' "$JOB")
  [ -n "$RUN" ] && break
  sleep 0.05
done
T1=$(date +%s.%N); C1=$(cpu)
echo "$RUN"
python3 -c 'import sys; print(f"retention run: done within {float(sys.argv[2]) - float(sys.argv[1]):.2f} s (polled every 50 ms)")' "$T0" "$T1"
per "$C0" "$C1" 1 run
du -sh "$DATA/events"
$B search --runs "${RUNS:-100}" --index "$INDEX"
