#!/usr/bin/env bash
# Programme outcomes at scale (issue 7): build a demo database of N patients, time `limbpath report` and the
# `/analytics` dashboard (first view, which streams the cohort, and a second view from the 5-minute table
# cache) and the KM API. Usage: bench/programme_outcomes.sh N [DIR]   (release build: target/release/limbpath
# or LIMBPATH_CMD). Deletes nothing it did not create; DIR defaults to a fresh temporary directory.
set -euo pipefail
N=${1:?number of patients}
DIR=${2:-$(mktemp -d)}
LP=${LIMBPATH_CMD:-target/release/limbpath}
PORT=${PORT:-18187}
echo "limbpath: $LP; database: $DIR; patients: $N; $(nproc) cores; $(date -u +%FT%TZ)"
if [ ! -f "$DIR/limbpath.sqlite3" ]; then
  /usr/bin/time -f "demo build: %e s wall, %M KB peak RSS" "$LP" demo --data-dir "$DIR" --no-serve --patients "$N" \
    2>&1 | grep -E "demo build|built"
fi
ls -la "$DIR/limbpath.sqlite3"
/usr/bin/time -f "report: %e s wall, %M KB peak RSS" "$LP" report --data-dir "$DIR" --out "$DIR/report.html" 2>&1
ls -la "$DIR/report.html"
echo 'a-long-enough-password-1' | "$LP" user add --data-dir "$DIR" --username bench.analyst --role analyst \
  --password-stdin >/dev/null 2>&1 || true
"$LP" serve --data-dir "$DIR" --bind "127.0.0.1:$PORT" >"$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -fs -H 'content-type: application/json' -d '{"username":"bench.analyst","password":"a-long-enough-password-1"}' \
  "http://127.0.0.1:$PORT/api/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for what in "dashboard, first view (reads the cohort)|/analytics" "dashboard, second view (cached table)|/analytics" \
  "dashboard, limb salvage by site (cached)|/analytics?outcome=limb_salvage&stratify=site" \
  "API km by WIfI stage (cached)|/api/v1/analytics/km?stratify=wifi_stage" \
  "API cox (cached)|/api/v1/analytics/cox?covariates=age,diabetes,dialysis,wifi_stage"; do
  label=${what%%|*}; path=${what#*|}
  curl -s -o /dev/null -H "authorization: Bearer $TOKEN" -w "$label: %{time_total} s, %{size_download} bytes, HTTP %{http_code}\n" \
    "http://127.0.0.1:$PORT$path"
done
echo "server RSS: $(ps -o rss= -p $SERVER) KB"
