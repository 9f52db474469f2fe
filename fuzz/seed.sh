#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/<target>, not committed) from the repository's own
# examples and test files, then runs every target for SECONDS (default 60) each.
# Usage: fuzz/seed.sh [SECONDS]   (needs cargo-fuzz; see the README, "Fuzzing")
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
root=..
seed() { mkdir -p "corpus/$1"; shift; for f in "$@"; do [ -f "$f" ] && cp "$f" "corpus/$target/$(basename "$(dirname "$f")")-$(basename "$f")"; done; }
target=manifest;   seed manifest $root/examples/*/*.yaml $root/examples/*/*.yml $root/tests/manifests/invalid/*.yaml $root/tests/bad_input/manifests/*.yaml
target=config;     seed config $root/examples/*/imsform.toml $root/tests/bad_input/config/*.toml
target=state;      seed state $root/tests/state/fixtures/*.json $root/tests/bad_input/state/*.json
target=saved_plan; seed saved_plan $root/tests/bad_input/plans/*.json
target=emulator_request
mkdir -p corpus/emulator_request
printf 'limit=2&sort_key=name&sort_dir=asc&__imagetype=private&tag=team=web\0SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=%064d\0[{"op":"replace","path":"/name","value":"x"}]' 0 > corpus/emulator_request/list
printf 'marker=a&created_at=gt:2026-11-01T00:00:00Z&min_disk=40&protected=false\0k=v,team=web\0[{"remove":"/description"}]' > corpus/emulator_request/filters
for target in manifest config state saved_plan emulator_request; do
  echo "== $target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | grep -E '^(#[0-9]+ +DONE|Done|==|SUMMARY|thread|.*panicked)' || true
done
