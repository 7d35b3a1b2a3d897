# Makefile — builds libbud (static and shared), the `bud` CLI, tests, examples and benchmarks.
# Plain make, on purpose: the tree is C11 with no configure-time choices beyond CC and MODE, every
# module is discovered by wildcard (src/*/*.c, tests/test_*.c), and a fresh build takes seconds.
#   make [MODE=release|asan|debug] [CC=gcc|clang]   build into build/$(MODE)-$(CC)
#   make test      unit + golden tests        make check   everything the CI runs (tools/test-all.sh)
#   make demo      build and run `bud demo`   make install PREFIX=/usr/local
MODE ?= release
ifeq ($(origin CC),default)
  CC := gcc
endif
PREFIX ?= /usr/local
PYTHON ?= /usr/bin/python3
BUILDROOT ?= build
B := $(BUILDROOT)/$(MODE)-$(notdir $(CC))

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wvla
BASEFLAGS := -std=c11 $(WARN) -Iinclude -Isrc -fPIC -pthread -fno-strict-aliasing
ifeq ($(MODE),release)
  OPT := -O2 -g
else ifeq ($(MODE),asan)
  OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
else ifeq ($(MODE),tsan)
  OPT := -O1 -g -fsanitize=thread
  LDSAN := -fsanitize=thread
else
  OPT := -O0 -g
endif
CFLAGS += $(BASEFLAGS) $(OPT)
LDLIBS := -lm -lpthread -ldl
LDFLAGS += $(LDSAN)

LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
EX_SRC := $(sort $(wildcard examples/*.c))
EX_BIN := $(EX_SRC:examples/%.c=$(B)/examples/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
HDRS := $(wildcard include/*.h src/*/*.h src/*/*.def)
BENCH_HDRS := $(wildcard bench/*.h tests/*.h)

.PHONY: all lib cli tests examples bench test check demo install clean format python tsan-test math-exhaustive \
        math-f64-long
all: lib cli tests examples

lib: $(B)/libbud.a $(B)/libbud.so
cli: $(B)/bud
tests: $(TEST_BIN)
examples: $(EX_BIN)

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The math programs: without -fno-math-errno gcc keeps the loops that use sqrt scalar (same
# results, slower); no pragma or attribute does it (docs/math.md).
$(B)/src/math/%.o: CFLAGS += -fno-math-errno

$(B)/libbud.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libbud.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bud: $(CLI_OBJ) $(B)/libbud.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libbud.a $(LDLIBS)

$(B)/tests/%: tests/%.c tests/check.h $(B)/libbud.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libbud.a $(LDFLAGS) $(LDLIBS)

$(B)/examples/%: examples/%.c $(B)/libbud.a include/bud.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libbud.a $(LDFLAGS) $(LDLIBS)

# Benchmarks: the library as built, plus the reference C loops at -O3 -march=native; the 2-thread
# C peers are OpenMP loops (BENCH_OMP= builds them on the runtime's pool instead).
BENCH_OMP ?= -fopenmp
$(B)/bench/%: bench/%.c $(B)/libbud.a $(HDRS) $(BENCH_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O3 -march=native $(BENCH_OMP) -o $@ $< $(B)/libbud.a $(LDLIBS)
bench: $(BENCH_BIN)

test: all
	@BUILD=$(B) tools/run-tests.sh

check:
	tools/test-all.sh

# The suites that run threads, under ThreadSanitizer: make MODE=tsan tsan-test
TSAN_TESTS := $(B)/tests/test_pool $(B)/tests/test_exec_threads $(B)/tests/test_exec_fusion $(B)/tests/test_api
tsan-test: $(TSAN_TESTS)
	@set -e; for t in $(TSAN_TESTS); do TSAN_OPTIONS=halt_on_error=1 $$t | tail -n 1; done

demo: cli
	$(B)/bud demo

python: lib
	$(MAKE) -C python PYTHON=$(PYTHON) BUILD=$(abspath $(B))

install: lib cli
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/libbud.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libbud.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/bud.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(B)/bud $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*BUD_VERSION_STRING "\(.*\)"/\1/p' include/bud.h)|' \
	  tools/bud.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/bud.pc

# The long accuracy target: every float32 input of the named functions (docs/math.md).
FNS ?= exp log sin cos tanh log1p expm1 exp2 log2 log10
math-exhaustive: lib
	$(CC) $(BASEFLAGS) -O2 -fno-math-errno -o $(B)/math-exhaustive tools/math/exhaustive.c $(B)/libbud.a $(LDLIBS)
	$(B)/math-exhaustive $(FNS)

# The long float64 run of the double-double programs: 10^7 inputs per function plus the hard
# cases (tests/test_math_f64.c; the normal test runs 10^6).
math-f64-long: tests
	$(B)/tests/test_math_f64 10000000

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(wildcard src/*/*.h include/*.h)

clean:
	rm -rf $(BUILDROOT)
