#!/usr/bin/env bash
# Runs each fuzz target (built by Tests/Fuzz/build.sh) for SECONDS seconds (default 60) from its
# seed corpus in Tests/Fuzz/Corpus/NAME, new inputs going to .build/fuzz/corpus/NAME (outside the
# repository). Fails on a crash, a failed property, a sanitizer report, a leak, a timeout
# or an allocation above the limit; the input is kept as .build/fuzz/crash-* and the log as
# .build/fuzz/NAME.log. WK_FUZZ_SEED (default 1) seeds the mutations, so a CI run repeats.
# Usage: Tests/Fuzz/run.sh [SECONDS] [NAME…]
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(ingest http statefile eras)
out=.build/fuzz
status=0
for name in "${names[@]}"; do
  mkdir -p "$out/corpus/$name"
  # statefile: a loader that allocates more than 64 MB for an input of at most 16 KiB fails.
  extra=()
  [ "$name" = statefile ] && extra=(-malloc_limit_mb=64)
  SWIFT_BACKTRACE=enable=no "$out/$name" -seed="${WK_FUZZ_SEED:-1}" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/$name-" "${extra[@]}" "$out/corpus/$name" "Tests/Fuzz/Corpus/$name" \
    > "$out/$name.log" 2>&1
  rc=$?
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:' "$out/$name.log" | tail -1)
  execs=$(grep -E '^stat::average_exec_per_sec' "$out/$name.log" | awk '{print $2}')
  echo "fuzz $name: ${seconds}s, $(echo "$stats" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+'), ${execs:-?} exec/s, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    grep -E 'Fatal error|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|SUMMARY' "$out/$name.log" | head -5
    ls "$out/$name-"* 2> /dev/null
  fi
done
exit $status
