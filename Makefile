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
