# lambdad: `make run` starts the server, `make test` runs every test. Both install what is
# missing first (./setup.sh, idempotent and quick when nothing is missing).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
CTEST_JOBS ?= 2
SERVE_ARGS ?=
PREFIX ?= /usr/local

CMAKE_FLAGS = -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

.PHONY: all build setup run test unit e2e bench clean fmt install

all: build

build:
	cmake $(CMAKE_FLAGS)
	ninja -C $(BUILD_DIR) -j$(JOBS)

setup:
	./setup.sh

# Steps run in order even under make -j: setup installs what the build needs.
run:
	./setup.sh
	$(MAKE) --no-print-directory build
	exec $(BUILD_DIR)/lambdad serve $(SERVE_ARGS)

# Unit and end-to-end tests (ctest labels: unit tests as their CMake files set, e2e for tests/e2e),
# then the sanitizer builds and a short fuzz smoke (docs/TESTING.md says what each runs and why).
test:
	./setup.sh
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 600
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory tsan
	$(MAKE) --no-print-directory fuzz-smoke

# Sanitizer runs. Every report is fatal (the e2e harness also scans the server log for one).
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66:strict_string_checks=1:check_initialization_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=66 LSAN_OPTIONS=exitcode=66 \
  TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1
# The e2e suites run under ASan+UBSan: the control plane, invoke, async, abuse and auth (the
# server's own code paths; the other suites mostly exercise functions and the CLI).
ASAN_E2E ?= test_control_api|test_invoke|test_async|test_abuse|test_auth
# The invoker's concurrency (and the threads it talks to) under TSan.
TSAN_TESTS ?= tests/unit/invoke/unit_invoke tests/unit/runtime_api/unit_runtime_api \
  tests/unit/metering/unit_metering

# -O1 -g1: about half the compile time of -O2 -g on the Boost-heavy sources, still fast enough
# to run the e2e suites, and line numbers in every report.
SAN_OPT ?= -O1 -g1 -DNDEBUG

.PHONY: asan asan-build tsan tsan-build
asan-build:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAMBDAD_SANITIZE=address \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$(SAN_OPT)" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$(SAN_OPT)"
	ninja -C $(ASAN_DIR) -j$(JOBS)

asan: asan-build
	$(SAN_ENV) ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 900 \
	  -LE e2e -E '^install[.]'
	$(SAN_ENV) ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 900 \
	  -L e2e -R 'e2e[.]($(ASAN_E2E))$$'

tsan-build:
	cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAMBDAD_SANITIZE=thread \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$(SAN_OPT)" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$(SAN_OPT)"
	ninja -C $(TSAN_DIR) -j$(JOBS) $(notdir $(TSAN_TESTS))

# setarch -R: GCC 12's TSan cannot map its shadow under the high mmap ASLR entropy of newer
# kernels ("unexpected memory mapping"); without address randomisation it can.
tsan: tsan-build
	@set -e; for t in $(TSAN_TESTS); do echo "== $$t"; \
	  $(SAN_ENV) setarch $$(uname -m) -R $(TSAN_DIR)/$$t; done

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 600 -LE e2e

e2e:
	./setup.sh
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 600 -L e2e

# bench/run (when present) drives the benchmarks; otherwise every executable in build/bench runs.
bench: build
	@if [ -x bench/run ]; then exec bench/run $(BUILD_DIR); fi; \
	ran=0; for b in $(BUILD_DIR)/bench/*; do \
	  if [ -f "$$b" ] && [ -x "$$b" ]; then echo "== $$b"; "$$b" || exit 1; ran=1; fi; \
	done; [ $$ran = 1 ] || echo "no benchmarks built in $(BUILD_DIR)/bench"

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)

fmt:
	@files=$$(git ls-files '*.h' '*.cc' '*.cpp' '*.hpp'); \
	if [ -n "$$files" ]; then clang-format -i $$files; fi
	@py=$$(git ls-files 'tests/e2e/*.py'); \
	if [ -n "$$py" ] && /usr/bin/python3 -c 'import black' 2>/dev/null; then /usr/bin/python3 -m black -q $$py; fi

# libFuzzer (clang): each target runs FUZZ_SECONDS on its corpus (fuzz/corpus/<target> seeds,
# new inputs kept in $(FUZZ_DIR)/corpus). Crashes land in $(FUZZ_DIR)/<target>-crash-*.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_sigv4 fuzz_http_control fuzz_package fuzz_schedule fuzz_runtime_api fuzz_sam

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DLAMBDAD_FUZZ=ON -DLAMBDAD_TESTS=OFF -DLAMBDAD_WERROR=OFF
	ninja -C $(FUZZ_DIR) -j$(JOBS) $(FUZZ_TARGETS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t; echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_DIR)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$t- \
	    $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t || exit 1; \
	done

fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
