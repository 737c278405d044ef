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

# Unit and end-to-end tests (ctest labels: unit tests as their CMake files set, e2e for tests/e2e).
test:
	./setup.sh
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) --timeout 600

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
	rm -rf $(BUILD_DIR)

fmt:
	@files=$$(git ls-files '*.h' '*.cc' '*.cpp' '*.hpp'); \
	if [ -n "$$files" ]; then clang-format -i $$files; fi
	@py=$$(git ls-files 'tests/e2e/*.py'); \
	if [ -n "$$py" ] && /usr/bin/python3 -c 'import black' 2>/dev/null; then /usr/bin/python3 -m black -q $$py; fi

# libFuzzer (clang): each target runs FUZZ_SECONDS on its corpus (fuzz/corpus/<target> seeds,
# new inputs kept in $(FUZZ_DIR)/corpus). Crashes land in $(FUZZ_DIR)/<target>-crash-*.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_sigv4 fuzz_http_control fuzz_package fuzz_schedule

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build:
	@command -v clang++ >/dev/null || (apt-get update && apt-get install -y clang)
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
