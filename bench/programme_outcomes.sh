#!/usr/bin/env bash
# Programme outcomes at scale (issue 7): build a demo database of N patients, time `limbpath report`, then
# start `limbpath serve` (which reads the analysis cohort in the background at start-up) and time the
# `/analytics` dashboard during that read (the progress page), the KM API (which waits for the read), the
# dashboard once the table is read, and more views from the table. Usage: bench/programme_outcomes.sh N [DIR]   (release build: target/release/limbpath
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
STARTED=$(date +%s.%N)
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
echo "serve: answering /healthz after $(python3 -c "print(round($(date +%s.%N) - $STARTED, 1))") s"
TOKEN=$(curl -fs -H 'content-type: application/json' -d '{"username":"bench.analyst","password":"a-long-enough-password-1"}' \
  "http://127.0.0.1:$PORT/api/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -s -o "$DIR/reading.html" -H "authorization: Bearer $TOKEN" \
  -w "dashboard during the start-up read: %{time_total} s, %{size_download} bytes, HTTP %{http_code}\n" \
  "http://127.0.0.1:$PORT/analytics"
grep -o 'being read from the database: [0-9,]* episodes so far, for [0-9a-z ]*' "$DIR/reading.html" || echo "(the table was read already)"
curl -s -o /dev/null -H "authorization: Bearer $TOKEN" \
  -w "API km, waiting for the start-up read: %{time_total} s, HTTP %{http_code}\n" "http://127.0.0.1:$PORT/api/v1/analytics/km"
echo "analysis table ready $(python3 -c "print(round($(date +%s.%N) - $STARTED, 1))") s after serve started"
grep 'analysis table read' "$DIR/serve.log" | tail -1 || true
for what in "dashboard, first view with the table|/analytics" "dashboard, second view|/analytics" \
  "dashboard, limb salvage by site|/analytics?outcome=limb_salvage&stratify=site" \
  "API km by WIfI stage|/api/v1/analytics/km?stratify=wifi_stage" \
  "API cox|/api/v1/analytics/cox?covariates=age,diabetes,dialysis,wifi_stage"; do
  label=${what%%|*}; path=${what#*|}
  curl -s -o /dev/null -H "authorization: Bearer $TOKEN" -w "$label: %{time_total} s, %{size_download} bytes, HTTP %{http_code}\n" \
    "http://127.0.0.1:$PORT$path"
done
echo "server RSS: $(ps -o rss= -p $SERVER) KB"
