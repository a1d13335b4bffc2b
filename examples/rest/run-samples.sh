#!/usr/bin/env bash
# Runs the REST API documentation's examples (examples/rest/endpoint.sh, the generic curl call
# of "Accessing the REST-API", and host_id.sh and host_id.py, the curl and Python calls of
# "Accessing Host ID") against a Stella Ops server, changing only what
# a user changes: the address (and https → http on loopback), the token and the IP address.
# Starts its own server on a fresh data directory and ingests a few Suricata EVE events for
# the address first.
#
#   bash examples/rest/run-samples.sh
#
# Exit 0 when both print the host's record (its host name and its web service included).
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=examples/rest
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 -c 'import requests' 2>/dev/null || pip install -q requests

PORT=${PORT:-18090}
BASE=http://127.0.0.1:$PORT
cargo build -q -p stella
BIN="${CARGO_TARGET_DIR:-target}/debug/stella"
"$BIN" init --data-dir "$WORK/data" --email admin@example.com > "$WORK/creds.json"
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" > /dev/null && break
  sleep 0.1
done
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
API_KEY=$(field "$WORK/creds.json" api_key)
TOKEN=$(field "$WORK/creds.json" legacy_token)

# A probe's EVE events about 10.0.0.101: a request to the web server it runs and its flow.
JWT=$(curl -sf -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TENANT=$(curl -sf -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" \
      -H 'Content-Type: application/json' -d '{"name": "sample tenant"}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000000+0000)
curl -sf -X POST "$BASE/connect/api/v1/events?tenant_id=$TENANT" -H "Authorization: Bearer $JWT" \
     -H 'Content-Type: application/json' -d "{\"events\": [
  {\"timestamp\": \"$NOW\", \"event_type\": \"http\", \"src_ip\": \"10.0.0.7\", \"src_port\": 51234,
   \"dest_ip\": \"10.0.0.101\", \"dest_port\": 80, \"proto\": \"TCP\", \"app_proto\": \"http\",
   \"http\": {\"hostname\": \"intranet.example\", \"url\": \"/\", \"http_user_agent\": \"curl/7.88.1\",
              \"http_method\": \"GET\", \"status\": 200}},
  {\"timestamp\": \"$NOW\", \"event_type\": \"flow\", \"src_ip\": \"10.0.0.7\", \"src_port\": 51234,
   \"dest_ip\": \"10.0.0.101\", \"dest_port\": 80, \"proto\": \"TCP\", \"app_proto\": \"http\",
   \"flow\": {\"pkts_toserver\": 6, \"pkts_toclient\": 4, \"bytes_toserver\": 520, \"bytes_toclient\": 1830,
              \"start\": \"$NOW\", \"end\": \"$NOW\", \"state\": \"closed\", \"reason\": \"timeout\"}}
]}" > /dev/null
curl -sf -X POST "$BASE/connect/api/v1/data/aella-ser/_refresh" -H "Authorization: Bearer $JWT" > /dev/null

HOSTPORT=${BASE#*://}
subst() {
  sed -e "s|https://<SCS_ADDRESS>|http://$HOSTPORT|" -e "s|<TOKEN>|$TOKEN|" \
      -e "s|<IP_ADDRESS>|10.0.0.101|" -e "s|<HOST_IP>|10.0.0.101|" \
      -e "s|<ENDPOINT>|appliances/stamus_device|" -e "s|<OPTIONAL_PARAMETERS>|?page_size=5|" \
      "$HERE/$1" > "$WORK/$1"
}
subst endpoint.sh
subst host_id.sh
subst host_id.py
echo "== endpoint.sh (curl, the generic form: /rest/appliances/stamus_device/?page_size=5)"
bash "$WORK/endpoint.sh" | tee "$WORK/endpoint.out"; echo
grep -Eq '"count": ?1[,}]' "$WORK/endpoint.out"
echo "== host_id.sh (curl)"
bash "$WORK/host_id.sh" | tee "$WORK/curl.out"; echo
echo "== host_id.py (requests)"
python3 "$WORK/host_id.py" | tee "$WORK/python.out"
for out in curl.out python.out; do
  grep -q '10.0.0.101' "$WORK/$out"
  grep -q 'intranet.example' "$WORK/$out"
  grep -q '"port":80' "$WORK/$out"
done
echo "== REST samples OK"
