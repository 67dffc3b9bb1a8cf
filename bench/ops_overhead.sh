#!/bin/bash
# The cost of the ops layer (issue 9: client address, rate-limit check, request id, metrics, request log line)
# on one `limbpath serve`, with wrk on loopback against a demo database built beforehand:
#   limbpath demo --no-serve --patients 2000 --data-dir /tmp/ops-bench/data   # note the printed password
#   PASSWORD=... bench/ops_overhead.sh BIN LABEL [extra serve args...]
# Prints requests/s for GET /healthz (the layer and nothing else) and GET /api/v1/patients/{id} (a read with
# its audit entry). Run it for the binary before and after, alternating, several rounds.
set -euo pipefail
BIN=$1; LABEL=$2; shift 2
DATA=${DATA:-/tmp/ops-bench/data}
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN" serve --data-dir "$DATA" --bind "127.0.0.1:$PORT" "$@" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"demo.clinician\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$PORT/api/v1/session" |
  python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
PATIENT=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/patients?limit=1" |
  python3 -c 'import sys,json;print(json.load(sys.stdin)["items"][0]["id"])')
H=$(wrk -t1 -c16 -d8s "http://127.0.0.1:$PORT/healthz" | awk '/Requests\/sec/{print $2}')
R=$(wrk -t1 -c16 -d8s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/patients/$PATIENT" |
  awk '/Requests\/sec/{print $2}')
kill -TERM $PID; wait $PID || true
echo "$LABEL healthz_rps=$H patient_read_rps=$R"
