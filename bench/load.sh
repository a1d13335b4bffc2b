#!/usr/bin/env bash
# Reproduces the HTTP load figures in BENCHMARKS.md. Loopback only; each run is bounded by
# DURATION. Needs wrk (Debian: apt-get install wrk) and python3.
#
#   bench/load.sh                  # all three measurements
#   DURATION=30s CONNS=64 bench/load.sh
#   SERVE_FLAGS="--redis-url redis://127.0.0.1:6379" bench/load.sh   # limits in Redis
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
PORT=${PORT:-18090}
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }

# BIN=<a build's stella binary> runs a prebuilt server (to compare two builds in turns).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella
  BIN="${CARGO_TARGET_DIR:-target}/release/stella"
fi
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # $@: extra serve flags
  rm -rf "$WORK/data"
  "$BIN" init --data-dir "$WORK/data" --email bench@example.com > "$WORK/creds.json"
  # The rate limit is raised so the load generator measures the server, not the limiter.
  # shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
  "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --rate-limit-per-second 1000000000 --log warn ${SERVE_FLAGS:-} "$@" &
  PID=$!
  for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$WORK/creds.json")
  JWT=$(curl -fs -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  TENANT=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d '{"name":"bench","description":"load test tenant"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  export API_KEY JWT TENANT
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

summary() { # wrk output on stdin -> "req/s p50 p99 [server CPU per request]"; CPU_BEFORE set by caller
  SERVER_PID=$PID python3 -c '
import re, sys
t = sys.stdin.read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
import os
bad = non2xx.group(1) if non2xx else 0
total = int(re.search(r"(\d+) requests in", t).group(1))
# Read after stdin closed, i.e. after wrk finished (the pipe runs both at once).
stat = open("/proc/%s/stat" % os.environ["SERVER_PID"]).read().rsplit(")", 1)[1].split()
ticks = int(stat[11]) + int(stat[12]) - int(os.environ.get("CPU_BEFORE", 0))
cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(total, 1)
print("%10.0f req/s   p50 %s   p99 %s   non-2xx %s   server CPU %.1f us/request" % (float(rps), lat.get("50"), lat.get("99"), bad, cpu_us))
'
}

cat > "$WORK/access_token.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
LUA

RUNS=${RUNS:-3}
TOKEN_CONNS=${TOKEN_CONNS:-8}
get_run() { # $1 label; rest: serve flags. One server, both GET endpoints.
  local label=$1; shift
  start "$@"
  wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $JWT" "$BASE/connect/api/v1/tenants/$TENANT" >/dev/null
  for ep in me tenant; do
    local path="/connect/api/v1/me"
    [ "$ep" = tenant ] && path="/connect/api/v1/tenants/$TENANT"
    printf '%-44s log %-3s ' "GET ${path/$TENANT/{id\}}" "$label"
    export CPU_BEFORE=$(cpu_ticks)
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $JWT" "$BASE$path" | summary | tee -a "$WORK/$ep-$label"
  done
  stop
}

echo "== ${DURATION} per run, ${CONNS} connections, ${THREADS} wrk thread(s), $(nproc) cores; log on/off alternate, ${RUNS} runs each"
for _ in $(seq "$RUNS"); do
  get_run on
  get_run off --no-activity-log
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for ep in me tenant; do
  on=$(awk '{print $1}' "$WORK/$ep-on" | median)
  off=$(awk '{print $1}' "$WORK/$ep-off" | median)
  con=$(awk '{print $(NF-1)}' "$WORK/$ep-on" | median)
  coff=$(awk '{print $(NF-1)}' "$WORK/$ep-off" | median)
  echo "median $ep: log on $on req/s, log off $off req/s (throughput cost $(python3 -c "print(f'{(1 - $on / $off) * 100:.1f}')")%); CPU per request $con vs $coff us (cost $(python3 -c "print(f'{(1 - $coff / $con) * 100:.1f}')")%)"
done

start
wrk -t1 -c"$TOKEN_CONNS" -d3s -s "$WORK/access_token.lua" "$BASE/connect/api/v1/access_token" >/dev/null
echo -n "POST /connect/api/v1/access_token, ${TOKEN_CONNS} connections:  "
export CPU_BEFORE=$(cpu_ticks)
wrk -t1 -c"$TOKEN_CONNS" -d"$DURATION" --latency -s "$WORK/access_token.lua" "$BASE/connect/api/v1/access_token" | summary
echo -n "POST /connect/api/v1/access_token, ${CONNS} connections: "
export CPU_BEFORE=$(cpu_ticks)
wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$WORK/access_token.lua" "$BASE/connect/api/v1/access_token" | summary
stop
