# cowcat — the two commands a new machine needs (see README.md):
#   make run    installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test
# Further targets: test-long (long crash loops), asan, tsan (sanitizer builds +
# tests), fuzz (libFuzzer targets), bench (all figures, JSON), ddl-bench (the
# DDL scaling experiment), clean.
# BUILD_DIR, JOBS and BUILD_TYPE may be overridden.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-long asan tsan fuzz bench ddl-bench format clean

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

# The libFuzzer targets (tests/fuzz/README.md): the fuzz build in build-fuzz
# (clang-14, every library instrumented), the seeds and regression inputs
# replayed, then each target for SECONDS with a printed seed. Skipped (with a
# message) without clang-14 and libfuzzer-14-dev.
SECONDS ?= 60
fuzz: deps
	@JOBS=$(JOBS) sh tests/fuzz/run.sh build-fuzz $(SECONDS); rc=$$?; \
	    if [ $$rc -eq 77 ]; then exit 0; fi; exit $$rc

bench: build
	$(BUILD_DIR)/bench/pmap_bench --json
	$(BUILD_DIR)/bench/persist_bench --json
	$(BUILD_DIR)/bench/durable_bench --json
	$(BUILD_DIR)/bench/catalog_bench --json
	$(BUILD_DIR)/bench/pgwire_bench --json
	$(BUILD_DIR)/bench/tools_bench --json

# The DDL scaling experiment (docs/BENCHMARKS.md, "ddl_bench"): cowcat embedded
# and over pgwire against PostgreSQL 15 and SQLite, 0 to 50k tables, with and
# without fsync (about 30 minutes, most of it building SQLite's catalogs);
# writes ddl_bench.json and ddl_bench.svg here, the markdown tables to stdout.
# Installs postgresql-15 if missing (scripts/deps.sh --bench). DDL_BENCH_FLAGS
# adds or overrides flags (e.g. DDL_BENCH_FLAGS="--clients 64").
DDL_BENCH_FLAGS ?=
ddl-bench: build
	@scripts/deps.sh --bench
	$(BUILD_DIR)/bench/ddl_bench/ddl_bench --scales 0,1000,10000,50000 \
	    --target embedded,pgwire,postgres,sqlite --durability fsync,none --samples 30 \
	    --json ddl_bench.json --plot ddl_bench.svg $(DDL_BENCH_FLAGS)

# Reformats every C file git tracks with .clang-format.
format:
	git ls-files '*.c' '*.h' | xargs clang-format --style=file -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
