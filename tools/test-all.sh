#!/usr/bin/env bash
# test-all.sh — THE test command (README, .ci/run): installs what is missing (Debian packages),
# builds everything from scratch, and runs every test: unit and golden tests (gcc, release), the
# same under ASan+UBSan, a clang build with its tests, and the Python tests (pytest).
# Exit status 0 only if every stage passed. The last line is "all: N passed, N failed" (stages).
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
JOBS=$(nproc 2>/dev/null || echo 2)

need=()
for p in gcc clang make binutils python3-dev python3-numpy python3-pytest; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
      || { echo "apt-get install failed"; exit 1; }
  else
    echo "missing packages and not root: ${need[*]}"; exit 1
  fi
fi

pass=0; fail=0; failed=()
stage() { # stage NAME COMMAND...
  local name=$1; shift
  echo "== $name"
  local t0=$SECONDS
  if "$@"; then pass=$((pass + 1)); echo "== $name: ok ($((SECONDS - t0)) s)"
  else fail=$((fail + 1)); failed+=("$name"); echo "== $name: FAILED ($((SECONDS - t0)) s)"; fi
}

export BUILDROOT=${BUILDROOT:-build}
rm -rf "$BUILDROOT"
stage "gcc release: build"  make -s -j"$JOBS" MODE=release CC=gcc all
stage "gcc release: tests"  make -s MODE=release CC=gcc test
stage "asan+ubsan: build"   make -s -j"$JOBS" MODE=asan CC=gcc all
stage "asan+ubsan: tests"   env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
                            make -s MODE=asan CC=gcc test
stage "tsan: threaded tests" make -s -j"$JOBS" MODE=tsan CC=gcc tsan-test
stage "clang release: build" make -s -j"$JOBS" MODE=release CC=clang all
stage "clang release: tests" make -s MODE=release CC=clang test
if [ -d python ] && [ -f python/Makefile ]; then
  stage "python: build" make -s MODE=release CC=gcc python
  stage "python: pytest" env PYTHONPATH=python $PY -m pytest -q -p no:cacheprovider tests/python
fi

[ ${#failed[@]} -eq 0 ] || echo "failed stages: ${failed[*]}"
echo "all: $pass passed, $fail failed"
[ $fail -eq 0 ]
