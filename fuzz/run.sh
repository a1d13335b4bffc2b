#!/usr/bin/env bash
# Runs the fuzz targets: `bash fuzz/run.sh [SECONDS] [TARGET...]` (default 30 s each, every
# target). Each target starts from its committed seeds (fuzz/seeds/<target>) and the corpus it
# has grown on this machine (fuzz/corpus/<target>, not committed). libFuzzer needs
# nightly-only compiler flags; RUSTC_BOOTSTRAP lets the machine's stable toolchain take them.
# A finding stops the run with its input in fuzz/artifacts/<target>/ and exits non-zero.
# FUZZ_DEV=1 builds without optimisation (half the build time, a tenth of the speed): CI uses it
# for its short runs.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(query_dsl query_string event_tape wal_record request_bodies versions sbom osv_record image_archive catalog policy vex suricata_rules)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$(pwd)/target}"
dict_for() {
  case "$1" in
    query_string) echo "-dict=dicts/lucene.dict" ;;
    sbom) echo "-dict=dicts/sbom.dict" ;;
    wal_record|request_bodies|versions|image_archive) echo "" ;;
    vex) echo "-dict=dicts/vex.dict" ;;
    wal_record|request_bodies|versions) echo "" ;;
    osv_record) echo "-dict=dicts/osv.dict" ;;
    catalog) echo "" ;;
    policy) echo "-dict=dicts/policy.dict" ;;
    suricata_rules) echo "-dict=dicts/suricata.dict" ;;
    *) echo "-dict=dicts/json.dict" ;;
  esac
}
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${SECONDS_EACH}s"
  log="$(mktemp)"
  # The whole output goes to a file and its exit status is kept: a target that does not build
  # (or a fuzzer that dies) must fail the run, not pass it silently behind the filter below.
  set +e
  # shellcheck disable=SC2046
  cargo fuzz run ${FUZZ_DEV:+--dev} "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$SECONDS_EACH" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 $(dict_for "$t") >"$log" 2>&1
  rc=$?
  set -e
  grep -E "^(#[0-9]+.*(DONE|pulse)|Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" "$log" || true
  if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
    echo "fuzz target $t found a failing input:"; ls "artifacts/$t"
    exit 1
  fi
  if [ "$rc" -ne 0 ]; then
    echo "fuzz target $t failed (exit $rc):"; tail -n 40 "$log"
    exit 1
  fi
  if ! grep -q "stat::number_of_executed_units" "$log"; then
    echo "fuzz target $t ran nothing:"; tail -n 40 "$log"
    exit 1
  fi
  rm -f "$log"
done
