#!/usr/bin/env bash
# FHIR import throughput (BENCHMARKS.md, issue 8): the demo cohort exported as
# FHIR NDJSON (one patient's resources after its Patient line), imported by a
# release `limbpath import` into an empty SQLite database and an empty
# PostgreSQL database; then Bulk Data $export of a demo database
# (`limbpath demo --no-serve --patients EXPORT_PATIENTS`) with the server's
# peak memory.
#
# Usage: bench/fhir_import.sh [PATIENTS [EXPORT_PATIENTS]]   (defaults 10000, 100000)
#   LIMBPATH_BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres (admin URL; a
#   database limbpath_fhir_bench is dropped and created there)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
export_n="${2:-100000}"
work="${LIMBPATH_BENCH_DIR:-/tmp/limbpath-fhir-bench}"
pg_admin="${LIMBPATH_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p limbpath --bin limbpath
cargo build -q --release -p limbpath-fhir --example demo_ndjson
bin="$CARGO_TARGET_DIR/release/limbpath"
mkdir -p "$work"
rm -rf "$work/sqlite"
ndjson="$work/demo-$n.ndjson"
[ -f "$ndjson" ] || "$CARGO_TARGET_DIR/release/examples/demo_ndjson" "$n" "$ndjson"
echo "== input: $(wc -l < "$ndjson") resources, $(du -h "$ndjson" | cut -f1)"

echo "== import into SQLite (empty database)"
/usr/bin/time -f "peak RSS %M KiB, %e s" "$bin" import --source bench --data-dir "$work/sqlite" "$ndjson"
echo "== the same again (idempotent: nothing stored)"
"$bin" import --source bench --data-dir "$work/sqlite" "$ndjson"

if command -v psql >/dev/null 2>&1 && psql "$pg_admin" -qc 'SELECT 1' >/dev/null 2>&1; then
    echo "== import into PostgreSQL (empty database)"
    psql "$pg_admin" -qc 'DROP DATABASE IF EXISTS limbpath_fhir_bench' -c 'CREATE DATABASE limbpath_fhir_bench'
    pg_url="${pg_admin%/*}/limbpath_fhir_bench"
    /usr/bin/time -f "peak RSS %M KiB, %e s" "$bin" import --source bench --database-url "$pg_url" "$ndjson"
else
    echo "== PostgreSQL not reachable at $pg_admin: skipped"
fi

echo "== Bulk Data \$export of a $export_n-patient demo database (peak memory of the server)"
demo="$work/demo-$export_n"
if [ ! -f "$demo/limbpath.sqlite3" ]; then
    "$bin" demo --no-serve --patients "$export_n" --data-dir "$demo" --replace 2>"$work/demo.log" || { cat "$work/demo.log"; exit 1; }
fi
rm -rf "$demo/fhir-exports"
pw="bench-$(date +%s)-pass"
printf '%s\n' "$pw" | "$bin" user add --data-dir "$demo" --username bench.admin --display-name Bench --role admin --password-stdin >"$work/user.log" 2>&1 || cat "$work/user.log"
port=18089
"$bin" serve --data-dir "$demo" --bind "127.0.0.1:$port" 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >"$work/health.txt" 2>&1 && break; sleep 0.2; done
token=$(curl -sf -H 'content-type: application/json' -d "{\"username\":\"bench.admin\",\"password\":\"$pw\"}" "http://127.0.0.1:$port/api/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
start=$(date +%s.%N)
status=$(curl -sf -D - -o "$work/kick.txt" -H "authorization: Bearer $token" "http://127.0.0.1:$port/fhir/\$export" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-location" {print $2}')
while :; do
    code=$(curl -s -o "$work/manifest.json" -w '%{http_code}' -H "authorization: Bearer $token" "$status")
    [ "$code" = 200 ] && break
    [ "$code" = 202 ] || { echo "status $code"; cat "$work/manifest.json"; break; }
    sleep 1
done
end=$(date +%s.%N)
python3 - "$work/manifest.json" "$start" "$end" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
total = sum(o["count"] for o in m["output"])
secs = float(sys.argv[3]) - float(sys.argv[2])
print(f"$export: {total} resources in {len(m['output'])} files, {secs:.1f} s ({total/secs:.0f} resources/s)")
PY
echo "server peak RSS (VmHWM): $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")"
kill "$server"
wait "$server" || true
du -sh "$demo/fhir-exports"
