#!/usr/bin/env bash
# Reproduces the probe-management REST API figures of BENCHMARKS.md (issue 14) with the in-repo
# load generator (crates/stella-bench), against a release server on loopback with its own data
# directory: 10,000 probes and 50,000 rules, then list and retrieve latencies; 5,000,000
# Suricata EVE events, then host ID lookups.
#
#   bench/rest.sh                                   # everything (the ingest takes minutes)
#   SKIP_HOSTID=1 bench/rest.sh                     # probes and rules only
#   SKIP_REST=1 EVENTS=1000000 bench/rest.sh        # host ID only, over 1M events
#   KEEP=1 DATA=/var/tmp/stella-rest/data bench/rest.sh                # keep the data, then re-run
#   KEEP=1 SKIP_INGEST=1 DATA=/var/tmp/stella-rest/data bench/rest.sh  # reads only (fills are skipped when done)
set -euo pipefail
cd "$(dirname "$0")/.."
STAMUS=${STAMUS:-8000}          # Stamus probes (two thirds inherit from a template)
SURICATA=${SURICATA:-2000}      # Suricata probes: PROBES = STAMUS + SURICATA
TEMPLATES=${TEMPLATES:-20}
RULES=${RULES:-50000}
REQUESTS=${REQUESTS:-1000}      # requests of each list/retrieve kind
CONC=${CONC:-4}
EVENTS=${EVENTS:-5000000}
HOSTS=${HOSTS:-3000}
DAYS=${DAYS:-3}
LOOKUPS=${LOOKUPS:-300}
PORT=${PORT:-18095}
BASE="http://127.0.0.1:$PORT"
DATA=${DATA:-$(mktemp -d -p /var/tmp)/data}

if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella -p stella-bench
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
PID=""
WORK=$(mktemp -d)
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
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
AUTH="Authorization: Bearer $JWT"
TENANT=$(curl -fs "$BASE/connect/api/v1/tenants?limit=1&sort=created_at&order=asc" -H "$AUTH" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d[0]["id"] if d else "")')
if [ -z "$TENANT" ]; then
  TENANT=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "$AUTH" -H 'content-type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fi
B="$BIN/stella-bench --base $BASE"
# Server CPU (user + system clock ticks): steadier than rates when other work shares the machine.
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
jq_() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Waits until the server has used no CPU for 5 s (the background merges of idle days after an
# ingest, which would otherwise be counted against the lookups) and says how long that took.
wait_idle() {
  local t0 a b
  t0=$(date +%s)
  a=$(cpu)
  while sleep 5; b=$(cpu); [ $((b - a)) -gt 2 ]; do a=$b; done
  echo "server idle after $(( $(date +%s) - t0 )) s (background merges done)"
}

if [ -z "${SKIP_REST:-}" ]; then
  $B rest-fill --tenant "$TENANT" --stamus "$STAMUS" --suricata "$SURICATA" --templates "$TEMPLATES"
  HAVE=$(curl -fs "$BASE/rest/rules/rule/?page_size=1" -H "$AUTH" | jq_ '["count"]')
  if [ "$HAVE" -lt "$RULES" ]; then
    # ET-like rules in 30 categories (one .rules file each), ten classtypes; ~540 bytes each.
    python3 - "$RULES" "$WORK" <<'PY'
import os, sys, tarfile
n, work = int(sys.argv[1]), sys.argv[2]
os.makedirs(f"{work}/rules")
classtypes = ["trojan-activity", "policy-violation", "web-application-attack", "bad-unknown", "attempted-recon",
              "misc-activity", "attempted-admin", "successful-recon-limited", "protocol-command-decode", "not-suspicious"]
per = (n + 29) // 30
sid = 2000000
for c in range(30):
    with open(f"{work}/rules/emerging-cat{c:02d}.rules", "w") as f:
        for i in range(min(per, n - c * per)):
            sid += 1
            off = "#" if i % 10 == 0 else ""
            f.write(f'{off}alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET CAT{c:02d} Suspicious request number {sid} to a known bad host"; '
                    f'flow:established,to_server; http.method; content:"GET"; http.uri; content:"/path/{sid}/index.php?id="; fast_pattern; '
                    f'http.host; content:"bad-{sid}.example"; endswith; reference:url,doc.emergingthreats.net/{sid}; '
                    f'classtype:{classtypes[sid % 10]}; sid:{sid}; rev:{1 + i % 5}; metadata:created_at 2024_01_01, updated_at 2024_06_01;)\n')
with tarfile.open(f"{work}/source.tar.gz", "w:gz") as t:
    t.add(f"{work}/rules", arcname="rules")
PY
    SOURCE=$(curl -fs -X POST "$BASE/rest/rules/source/" -H "$AUTH" -H 'Content-Type: application/json' \
      -d "{\"name\":\"et\",\"tenant_id\":\"$TENANT\"}" | jq_ '["pk"]')
    echo -n "rules: $RULES uploaded as a $(du -h "$WORK/source.tar.gz" | cut -f1) .tar.gz in "
    curl -fs -o "$WORK/answer.json" -w '%{time_total}' -X POST -H "$AUTH" -H 'Content-Type: application/octet-stream' \
      --data-binary "@$WORK/source.tar.gz" "$BASE/rest/rules/source/$SOURCE/upload/?filename=source.tar.gz"
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(" s: rules %d (enabled %d), categories %d, problems %d" % (a["rules"], a["enabled"], a["categories"], len(a["problems"])))' "$WORK/answer.json"
  fi
  wait_idle
  # As one tenant's user lists (tenant_id = ? in SQL), then as root across tenants.
  $B rest-read --requests "$REQUESTS" --concurrency "$CONC" --server-pid "$PID" --tenant "$TENANT"
  [ -n "${SKIP_ROOT:-}" ] || $B rest-read --requests "$REQUESTS" --concurrency "$CONC" --server-pid "$PID"
fi

if [ -z "${SKIP_HOSTID:-}" ]; then
  if [ -z "${SKIP_INGEST:-}" ]; then
    C0=$(cpu)
    T0=$(date +%s.%N)
    $B host-id-ingest --tenant "$TENANT" --events "$EVENTS" --hosts "$HOSTS" --days "$DAYS" --concurrency "${INGEST_CONC:-4}"
    TR=$(date +%s.%N)
    curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_refresh" -H "$AUTH" >/dev/null
    T1=$(date +%s.%N)
    C1=$(cpu)
    python3 -c 'import sys; t0, tr, t1 = map(float, sys.argv[1:4]); c = (int(sys.argv[5]) - int(sys.argv[4])) / 100; n = int(sys.argv[6])
print(f"final refresh {t1 - tr:.1f} s; searchable after {t1 - t0:.1f} s = {n / (t1 - t0):.0f} events/s; server CPU {c:.1f} s = {c * 1e6 / n:.0f} us/event")' \
      "$T0" "$TR" "$T1" "$C0" "$C1" "$EVENTS"
  fi
  N=$(curl -fs -X POST "$BASE/connect/api/v1/data/aella-ser/_search" -H "$AUTH" -H 'content-type: application/json' \
    -d '{"size":0,"track_total_hits":true,"query":{"match_all":{}}}' | jq_ '["hits"]["total"]["value"]')
  echo "index holds $N events; $(du -sh "$DATA" | cut -f1) on disk"
  wait_idle
  $B host-id --hosts "$HOSTS" --runs "$LOOKUPS" --server-pid "$PID"
fi
