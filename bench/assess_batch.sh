#!/usr/bin/env bash
# End-to-end benchmark: `limbpath assess --batch` over N generated findings.
# Usage: bench/assess_batch.sh [N=100000] [RUNS=5]
# Prints each run's wall time (output to a fresh file on disk, and to /dev/null)
# and the median; peak RSS from /usr/bin/time when available.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p limbpath
python3 bench/gen_findings.py "$n" > "$work/findings.jsonl"
echo "input: $n findings, $(du -h "$work/findings.jsonl" | cut -f1)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # $1 = output path: a file to replace, or /dev/null
    local start end
    # Start each run from no output file (truncating a 700 MB file costs seconds).
    # Only ever delete a regular file: never the /dev/null device.
    if [ -f "$1" ] && [ ! -c "$1" ]; then rm -f "$1"; fi
    sync
    start=$(date +%s.%N)
    ./target/release/limbpath assess --batch --input "$work/findings.jsonl" > "$1" 2>/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

for target in "$work/out.jsonl" /dev/null; do
    times=()
    for _ in $(seq "$runs"); do times+=("$(run "$target")"); done
    printf '%s: runs %s s; median %s s\n' "$target" "${times[*]}" "$(printf '%s\n' "${times[@]}" | median)"
done
echo "output size: $(du -h "$work/out.jsonl" | cut -f1)"
if command -v /usr/bin/time >/dev/null; then
    /usr/bin/time -f "peak RSS: %M KB" ./target/release/limbpath assess --batch --input "$work/findings.jsonl" > /dev/null 2>"$work/time.txt" || true
    grep "peak RSS" "$work/time.txt"
fi
