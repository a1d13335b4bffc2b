#!/usr/bin/env bash
# Reproduces the scanning figures in BENCHMARKS.md (issue 13). Loopback only, bounded runs.
#
#   bench/scan.sh                          # every figure
#   DEBIAN=/work/debian-image bench/scan.sh   # where bench/debian-image.sh left the real image
#
# Needs: the shared OSV exports (../shared/data/osv), python3, and for the image figures the
# output of bench/debian-image.sh. Figures: feed import time and the server's peak memory;
# a 1,000-component SBOM scanned (request latency on loopback, p50/p95, and server CPU per
# scan); the same through santech end to end; the Debian image scanned (upload) and its
# delta re-scan after one changed layer (santech --delta); /layers/missing at 100 layers.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18093}
BASE="http://127.0.0.1:$PORT"
OSV=${OSV:-../shared/data/osv}
DEBIAN=${DEBIAN:-/work/debian-image}
N=${N:-100}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p stella -p santech -p stellopsctl
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN/stella" init --data-dir "$WORK/data" --email bench@example.com > "$WORK/creds.json"
"$BIN/stella" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
  --rate-limit-per-second 1000000000 --log warn &
PID=$!
for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$WORK/creds.json")
export STELLA_TOKEN=$API_KEY
rss() { awk '/VmRSS|VmHWM/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$PID/status"; echo; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

echo "== server idle: $(rss)"
echo "== feed import: both shared exports (PyPI 2,661 + Go 4,291 advisories)"
START=$(date +%s.%N)
"$BIN/stellopsctl" --server "$BASE" feed refresh --from "$OSV/PyPI-all.zip" --from "$OSV/Go-all.zip" >/dev/null
END=$(date +%s.%N)
python3 -c "print('   upload + import + load: %.2f s' % ($END - $START))"
echo "   $(rss)"

echo "== a 1,000-component SBOM"
python3 - "$OSV/PyPI-all.zip" "$WORK/sbom.json" <<'PY'
import json, sys, zipfile, random
random.seed(7)
z = zipfile.ZipFile(sys.argv[1])
pkgs = {}
for n in z.namelist():
    rec = json.loads(z.read(n))
    for a in rec.get("affected", []):
        name = a.get("package", {}).get("name")
        vs = a.get("versions") or []
        if name and vs and name not in pkgs:
            pkgs[name] = random.choice(vs)
names = sorted(pkgs)[:700]
comps = [{"name": n, "version": pkgs[n], "purl": "pkg:pypi/%s@%s" % (n.lower(), pkgs[n])} for n in names]
comps += [{"name": "clean-%d" % i, "version": "1.0.%d" % i, "purl": "pkg:pypi/clean-%d@1.0.%d" % (i, i)} for i in range(1000 - len(comps))]
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": comps}, open(sys.argv[2], "w"))
print("   %d components, %d of them with advisories" % (len(comps), len(names)))
PY
JWT=$(curl -fs -X POST "$BASE/connect/api/v1/access_token" -H "Authorization: Bearer $API_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export JWT
CPU_BEFORE=$(cpu_ticks)
python3 - "$WORK/sbom.json" "$PORT" "$N" <<'PY'
import http.client, json, sys, time, os
body = open(sys.argv[1], "rb").read()
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[2]))
h = {"Authorization": "Bearer " + os.environ["JWT"], "Content-Type": "application/json"}
lat = []
for i in range(int(sys.argv[3]) + 5):
    t = time.perf_counter()
    c.request("POST", "/scan?threshold=critical", body, h)
    r = c.getresponse(); data = r.read()
    if r.status != 200: raise SystemExit("scan answered %d: %s" % (r.status, data[:300]))
    if i >= 5: lat.append((time.perf_counter() - t) * 1000)
lat.sort()
doc = json.loads(data)
print("   %d scans: p50 %.1f ms  p95 %.1f ms  max %.1f ms  (%d findings)" % (len(lat), lat[len(lat)//2], lat[int(len(lat)*0.95)-1], lat[-1], len(doc["findings"])))
PY
CPU_AFTER=$(cpu_ticks)
python3 -c "print('   server CPU per scan: %.1f ms' % (($CPU_AFTER - $CPU_BEFORE) / $(getconf CLK_TCK) * 1000 / ($N + 5)))"

echo "== the same SBOM through santech (end to end, process start to exit)"
for i in 1 2 3 4 5; do
  START=$(date +%s.%N)
  "$BIN/santech" --server "$BASE" --format json "$WORK/sbom.json" >/dev/null || [ $? -eq 1 ]
  END=$(date +%s.%N)
  python3 -c "print('   run $i: %.0f ms' % (($END - $START) * 1000))"
done

if [ -f "$DEBIAN/debian.tar" ]; then
  echo "== the Debian image ($(du -m "$DEBIAN/debian.tar" | cut -f1) MiB docker save, $(wc -l < "$DEBIAN/dpkg-query.txt") packages)"
  for i in 1 2 3; do
    # A fresh tenant each time, so no layer is known beforehand.
    T=$(curl -fs -X POST "$BASE/connect/api/v1/tenants" -H "Authorization: Bearer $JWT" -H 'content-type: application/json' -d "{\"name\":\"img$i-$RANDOM\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    START=$(date +%s.%N)
    curl -fs -o "$WORK/img.json" -X POST "$BASE/scan?tenant_id=$T" -H "Authorization: Bearer $JWT" --data-binary "@$DEBIAN/debian.tar"
    END=$(date +%s.%N)
    python3 -c "import json; d=json.load(open('$WORK/img.json')); print('   full scan $i: %.2f s (upload included)' % ($END - $START))"
  done
  echo "== its delta re-scan after one changed layer (santech --delta, end to end)"
  # Each run in a tenant of its own whose user has scanned the original image just before, so
  # exactly the changed layer is new to the server every time.
  for i in 1 2 3; do
    KEY=$(python3 - "$BASE" "$JWT" "delta$i-$RANDOM" <<'PY'
import json, sys, urllib.request
base, jwt, name = sys.argv[1:]
def call(path, body, token):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    if token: req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))
t = call("/connect/api/v1/tenants", {"name": name}, jwt)["id"]
pw = "correct horse battery staple"
call("/connect/api/v1/users", {"email": name + "@example.com", "password": pw, "privilege_profile": "super_admin", "tenant_id": t}, jwt)
session = call("/connect/api/v1/sign_in", {"email": name + "@example.com", "password": pw}, None)["access_token"]
print(call("/connect/api/v1/api_keys", {"name": "bench"}, session)["api_key"])
PY
)
    STELLA_TOKEN=$KEY "$BIN/santech" --server "$BASE" --format json "$DEBIAN/debian.tar" >/dev/null || [ $? -eq 1 ]
    START=$(date +%s.%N)
    STELLA_TOKEN=$KEY "$BIN/santech" --server "$BASE" --delta --format json "$DEBIAN/debian-changed.tar" >/dev/null 2>"$WORK/delta.err" || [ $? -eq 1 ]
    END=$(date +%s.%N)
    python3 -c "print('   delta $i: %.0f ms  ($(grep -o '[0-9]* of [0-9]* layers are new' "$WORK/delta.err"))' % (($END - $START) * 1000))"
  done
else
  echo "== (no $DEBIAN/debian.tar: run bench/debian-image.sh $DEBIAN for the image figures)"
fi

echo "== /layers/missing with 100 layers (none known: each digest is looked up)"
python3 - "$PORT" <<'PY'
import http.client, json, sys, os, hashlib, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
h = {"Authorization": "Bearer " + os.environ["JWT"], "Content-Type": "application/json"}
layers = ["sha256:" + hashlib.sha256(str(i).encode()).hexdigest() for i in range(100)]
body = json.dumps({"layers": layers})
lat = []
for i in range(2000):
    t = time.perf_counter()
    c.request("POST", "/layers/missing", body, h)
    r = c.getresponse(); r.read()
    lat.append((time.perf_counter() - t) * 1000)
lat = sorted(lat[200:])
print("   %d requests: p50 %.2f ms  p99 %.2f ms" % (len(lat), lat[len(lat)//2], lat[int(len(lat)*0.99)-1]))
PY
echo "== server at the end: $(rss)"
