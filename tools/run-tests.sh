#!/usr/bin/env bash
# run-tests.sh — runs every built C test program and example from the repo root, one line each,
# then prints the total as "tests: N passed, N failed". BUILD names the build directory.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build/release-gcc}
# One machine calibration per build tree (src/rt/cost.c), not one per test process.
export BUD_CACHE_DIR=${BUD_CACHE_DIR:-$B/cache}
pass=0; fail=0; failed=()
for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  out=$("$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ $rc -eq 0 ] && [ -n "$line" ]; then
    pass=$((pass + 1)); printf '  ok    %-28s %s\n' "$name" "${line#*: }"
  else
    fail=$((fail + 1)); failed+=("$name")
    printf '  FAIL  %-28s exit %d\n' "$name" "$rc"
    printf '%s\n' "$out" | tail -n 40 | sed 's/^/        /'
  fi
done
for e in "$B"/examples/*; do
  [ -x "$e" ] || continue
  name=examples/$(basename "$e")
  if out=$("$e" 2>&1); then pass=$((pass + 1)); printf '  ok    %s\n' "$name"
  else fail=$((fail + 1)); failed+=("$name"); printf '  FAIL  %s\n%s\n' "$name" "$out"; fi
done
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
