#!/usr/bin/env bash
# A short fuzz run for CI (see FUZZING.md): installs cargo-fuzz if missing,
# builds the four targets with coverage instrumentation on the stable
# toolchain (RUSTC_BOOTSTRAP=1 lets it take libFuzzer's -Z flags), replays the
# committed corpus and fuzzes each target for FUZZ_SECONDS (default 30), two
# targets at a time. Fails on any crash, leak of a panic, or timeout; the
# crashing input is left in fuzz/artifacts/<target>/. The committed corpus is
# read, never written: new inputs go to a scratch directory.
set -euo pipefail
start=$(date +%s)
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds=${FUZZ_SECONDS:-30}
# Faster to build than the long runs' flags (FUZZING.md): 16 codegen units and opt-level 1 halve the
# build on 2 cores; the runs are slower per input, which a 30-second smoke run can afford.
flags=(-O --debug-assertions --sanitizer none --codegen-units 16)
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1}
targets=(ceap assessment_json fhir_import check_in_form)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
echo "fuzz/ci.sh: cargo-fuzz ready after $(( $(date +%s) - start )) s"
cargo fuzz build "${flags[@]}"
echo "fuzz/ci.sh: targets built after $(( $(date +%s) - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run() {
    local t=$1
    mkdir -p "$scratch/$t"
    cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for t in "${targets[@]:i:2}"; do
        run "$t" &
        pids+=("$!:$t")
    done
    for p in "${pids[@]}"; do
        if wait "${p%%:*}"; then
            t=${p#*:}
            echo "fuzz/ci.sh: $t ok: $(grep -E '^stat::number_of_executed_units' "$scratch/$t.log" | awk '{print $2}') execs, $(grep -Eo 'cov: [0-9]+' "$scratch/$t.log" | tail -1)"
        else
            t=${p#*:}
            echo "fuzz/ci.sh: $t FAILED" >&2
            tail -40 "$scratch/$t.log" >&2
            status=1
        fi
    done
done
echo "fuzz/ci.sh: took $(( $(date +%s) - start )) s"
exit $status
