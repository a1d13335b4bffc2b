#!/usr/bin/env bash
# Imports a generated Suricata rule source through HTTP on a release server (issue 14's
# target: a 30,000-rule source in under 2 s), as a .tar.gz and as one plain .rules file.
#
#   bench/rules_import.sh              # 30,000 rules
#   RULES=60000 bench/rules_import.sh
#   BIN=/path/to/release bench/rules_import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18094}
BASE="http://127.0.0.1:$PORT"
RULES=${RULES:-30000}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# 30 categories of ET-like rules (~540 bytes each: about 16 MB for 30,000).
python3 - "$RULES" "$WORK" <<'PY'
import os, sys, tarfile
n, work = int(sys.argv[1]), sys.argv[2]
os.makedirs(f"{work}/rules")
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
                    f'classtype:trojan-activity; sid:{sid}; rev:{1 + i % 5}; metadata:created_at 2024_01_01, updated_at 2024_06_01;)\n')
with tarfile.open(f"{work}/source.tar.gz", "w:gz") as t:
    t.add(f"{work}/rules", arcname="rules")
with open(f"{work}/all.rules", "w") as out:
    for name in sorted(os.listdir(f"{work}/rules")):
        out.write(open(f"{work}/rules/{name}").read())
PY
echo "== $RULES rules: $(du -h "$WORK/all.rules" | cut -f1) plain, $(du -h "$WORK/source.tar.gz" | cut -f1) as .tar.gz"

"$BIN/stella" init --data-dir "$WORK/data" --email bench@example.com > "$WORK/creds.json"
"$BIN/stella" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
  --rate-limit-per-second 1000000000 --log warn &
PID=$!
for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cred() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/creds.json" "$1"; }
JWT=$(curl -fs -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $(cred api_key)" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
AUTH="Authorization: Token $(cred legacy_token)"
TENANT=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
SOURCE=$(curl -fs -X POST "$BASE/rest/rules/source/" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"name\":\"et\",\"tenant_id\":\"$TENANT\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pk"])')

# Server CPU (user + system clock ticks): what the import costs when other work shares the cores.
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
report() { # after an upload begun at server CPU ticks $1: the server's CPU seconds and the counts
  echo -n " s (server CPU $(python3 -c 'import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 100)' "$1" "$(cpu)") s)  "
  python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print("rules %d (enabled %d), categories %d, problems %d" % (a["rules"], a["enabled"], a["categories"], len(a["problems"])))' "$WORK/answer.json"
}
upload() { # file, name → the file as the body; seconds, server CPU, counts
  local c0
  c0=$(cpu)
  curl -fs -o "$WORK/answer.json" -w '%{time_total}' -X POST -H "$AUTH" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$1" \
    "$BASE/rest/rules/source/$SOURCE/upload/?filename=$2"
  report "$c0"
}
upload_form() { # file → the same as DRF clients send it, a multipart part named file
  local c0
  c0=$(cpu)
  curl -fs -o "$WORK/answer.json" -w '%{time_total}' -X POST -H "$AUTH" -F "file=@$1" \
    -F 'comment=bench' "$BASE/rest/rules/source/$SOURCE/upload/"
  report "$c0"
}
echo -n "== .tar.gz, first import:  "; upload "$WORK/source.tar.gz" source.tar.gz
echo -n "== .tar.gz, re-import:     "; upload "$WORK/source.tar.gz" source.tar.gz
echo -n "== plain .rules, re-import: "; upload "$WORK/all.rules" all.rules
echo -n "== .tar.gz, multipart re-import: "; upload_form "$WORK/source.tar.gz"
echo -n "== plain .rules, multipart re-import: "; upload_form "$WORK/all.rules"
RS=$(curl -fs -X POST "$BASE/rest/rules/ruleset/" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"name\":\"prod\",\"sources\":[$SOURCE],\"tenant_id\":\"$TENANT\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pk"])')
echo -n "== export of a ruleset of them: "
curl -fs -o "$WORK/export.rules" -w '%{time_total} s' -H "$AUTH" "$BASE/rest/rules/ruleset/$RS/export/"
echo "  ($(wc -l < "$WORK/export.rules") lines)"
