# cowcat — the two commands a new machine needs (see README.md):
#   make run    installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test
# Further targets: test-long (long crash loops), asan, tsan (sanitizer builds +
# tests), bench (all figures, JSON), clean. BUILD_DIR, JOBS and BUILD_TYPE may be overridden.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-long asan tsan bench format clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# The main job: cowcatd on ./cowcat-data (users 127.0.0.1:6875, system role
# 6877, metrics 6878); connect with psql -h 127.0.0.1 -p 6875 -U cowcat cowcat.
# Stop it with Ctrl-C (SIGINT): everything acknowledged is durable.
run: build
	$(BUILD_DIR)/server/cowcatd --data-dir ./cowcat-data

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) -LE long

# The long crash loops (thousands of kill -9 iterations): for manual runs.
test-long: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L long

asan:
	@$(MAKE) --no-print-directory test BUILD_DIR=build-asan BUILD_TYPE=Debug \
	    CMAKE_FLAGS=-DCOWCAT_SANITIZE=address

# Criterion cannot run under TSan: this builds everything and runs the stress and crash programs.
tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOWCAT_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j$(JOBS)
	cd build-tsan && ctest --output-on-failure -L "stress|crash"

bench: build
	$(BUILD_DIR)/bench/pmap_bench --json
	$(BUILD_DIR)/bench/persist_bench --json
	$(BUILD_DIR)/bench/durable_bench --json
	$(BUILD_DIR)/bench/catalog_bench --json
	$(BUILD_DIR)/bench/pgwire_bench --json
	$(BUILD_DIR)/bench/tools_bench --json

# Reformats every C file git tracks with .clang-format.
format:
	git ls-files '*.c' '*.h' | xargs clang-format --style=file -i

clean:
	rm -rf build build-asan build-tsan
