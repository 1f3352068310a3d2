# Artforge: `make dev` runs the whole product locally, `make test` runs every check, `make check`
# the fast ones. They install what they lack: Python tools into ./.venv (git-ignored), nothing
# global.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
export ARTFORGE_PYTHON := $(abspath $(VENV)/bin/python)
export SAM_CLI_TELEMETRY := 0
CARGO ?= cargo
CARGO_FLAGS ?= --locked
PORT ?= 3000

.PHONY: help setup rust-setup dev check test fmt lint unit integration template build build-check web e2e walkthrough openapi schemathesis fuzz-build fuzz-smoke fuzz bench bench-pipeline bench-coldstart soak deploy clean

help:
	@echo "make dev     run the whole product on http://127.0.0.1:$(PORT) (Ctrl-C stops it); writes .local/lambda.env"
	@echo "make check   formatting, clippy, the unit and use-case tests (no moto, no browser): the fast loop"
	@echo "make test    make check, every test against moto, fuzz smoke, template lints, web build and e2e, the README walkthrough, schemathesis, the soak, sam build (arm64)"
	@echo "make walkthrough  the README's curl walkthrough, run against a local server of its own"
	@echo "make web     type-check and build the web client into web/dist (npm ci first), and run its unit tests"
	@echo "make e2e     the web client end to end in headless Chromium against the local stack"
	@echo "make build   sam build: every function cross-built for arm64 in release mode"
	@echo "make openapi rewrite openapi.json from the code (a test fails while it differs)"
	@echo "make schemathesis  property-based tests of every operation from /openapi.json (SCHEMATHESIS_SECONDS=150)"
	@echo "make soak    20 users, 1,000 mixed operations under injected AWS faults, then every invariant"
	@echo "make fuzz-smoke  each fuzz target for $(FUZZ_SMOKE_SECONDS) s on its seed corpus (part of make test)"
	@echo "make fuzz    each fuzz target for FUZZ_SECONDS (default $(FUZZ_SECONDS)) s, growing a local corpus"
	@echo "make bench   the benchmarks (tokens, passwords, history pages, the worker per image, the pipeline)"
	@echo "make bench-pipeline  the image pipeline against Sharp on a real corpus, judged: PASS or FAIL (needs node, npm, python3, rsvg-convert)"
	@echo "make bench-coldstart each function's init, first response and memory against a hello world, and zip sizes; fails on a miss"
	@echo "make deploy  sam build + sam deploy (--guided the first time)"

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed rust-setup

rust-setup:
	@rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
	@rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu' || rustup target add aarch64-unknown-linux-gnu

dev: setup web
	$(CARGO) build $(CARGO_FLAGS) --workspace --bins
	PORT=$(PORT) "$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/artforge-dev"

fmt:
	$(CARGO) fmt --all -- --check
	cd fuzz && $(CARGO) fmt -- --check

lint: rust-setup
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

# The unit and use-case tests: in-memory fakes, no moto (docs/decisions: three layers).
unit: rust-setup
	$(CARGO) test $(CARGO_FLAGS) --workspace --lib --bins

# The fast loop: formatting, clippy, the unit and use-case tests. Prints its time.
check:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory fmt lint unit; \
	echo "make check: all checks passed in $$(( $$(date +%s) - start )) s"

# Every Rust test: the integration binaries (tests/it, one per crate) against moto too; each
# test process starts its own moto server and each test makes its own table.
integration: setup
	$(CARGO) test $(CARGO_FLAGS) --workspace --all-targets

template: setup
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --region us-east-1

# What `make deploy` uploads: every function cross-built for arm64 (Graviton) by cargo-lambda
# with its bundled zig, in release mode, into .aws-sam/build.
build: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/sam build --no-cached

# What `make test` builds: the same `sam build`, SAM's own cargo-lambda builder, every function
# for arm64, but linked without LTO in 16 codegen units, because nothing it makes is deployed:
# it proves the template and the cross-build, in a fraction of the time six fat-LTO links take
# (docs/decisions/0093). `make build` and `make bench-coldstart` keep the deployed profile.
build-check: setup
	CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
		PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/sam build --no-cached --build-dir .aws-sam/build-check

# The web client (web/): npm ci when the lock file changed, then tsc --noEmit and vite build,
# then its unit tests (Node's runner).
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: web/node_modules/.installed
	cd web && npm run build && npm test

# End to end in Debian's headless Chromium (/usr/bin/chromium; .ci/run installs it): the
# e2e script starts the dev server on a free port (with its own moto) and always stops it.
e2e: setup web
	$(CARGO) build $(CARGO_FLAGS) -p artforge-dev --bin artforge-dev
	ARTFORGE_DEV_BIN="$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/artforge-dev" \
		node web/e2e/run.mjs

# The README's "Calling the API" blocks, top to bottom, against a local server of its own.
walkthrough: setup
	$(CARGO) build $(CARGO_FLAGS) -p artforge-dev --bin artforge-dev
	$(VENV)/bin/python scripts/walkthrough

# The committed OpenAPI document, regenerated from the handlers' annotations.
openapi:
	UPDATE_OPENAPI=1 $(CARGO) test $(CARGO_FLAGS) -p artforge-dev --test it openapi

# Schemathesis against the local server (its own moto and stand-ins), bounded by time; see
# scripts/schemathesis. Its summary line and report land in target/schemathesis/.
schemathesis: setup
	$(CARGO) build $(CARGO_FLAGS) -p artforge-dev --bin artforge-dev
	$(VENV)/bin/python scripts/schemathesis

# The concurrency soak (issue 7): 20 users, 1,000 mixed operations against the local stack
# while a proxy injects DynamoDB, S3 and SQS faults; then every invariant. Bounded to 10 minutes;
# prints the counts. `cargo test` runs a 100-operation version of it.
soak: setup
	$(CARGO) test $(CARGO_FLAGS) -p artforge-dev --test it soak -- --ignored --nocapture


# Fuzzing (fuzz/; docs/reliability.md, "Fuzzing"): cargo-fuzz, installed when missing into
# ./.tools (git-ignored), or beside the workspace's target directory when CARGO_TARGET_DIR is set
# (so a fresh clone in CI does not build it again), drives libFuzzer on stable rustc: RUSTC_BOOTSTRAP=1 lets it pass its -Z flags (CI
# machines have no nightly). The instrumented build keeps to a target directory of its own (its
# RUSTFLAGS differ from the workspace's), beside the workspace's when CARGO_TARGET_DIR is set.
CARGO_FUZZ_VERSION := 0.13.2
TOOLS_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR)/tools,$(abspath .tools))
CARGO_FUZZ := $(TOOLS_DIR)/bin/cargo-fuzz
FUZZ := RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ)
FUZZ_TARGET_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR)/fuzz,$(abspath fuzz/target))
FUZZ_FLAGS ?= --target-dir $(FUZZ_TARGET_DIR)
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SECONDS ?= 300
# What longer runs find is kept here (outside git), on top of the committed seeds.
FUZZ_CORPUS ?= $(FUZZ_TARGET_DIR)/corpus

$(CARGO_FUZZ):
	$(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root $(TOOLS_DIR)

# cargo-fuzz has no --locked: `cargo metadata --locked` first fails if fuzz/Cargo.lock is stale.
fuzz-build: $(CARGO_FUZZ)
	cd fuzz && $(CARGO) metadata $(CARGO_FLAGS) --format-version 1 > /dev/null
	$(FUZZ) build $(FUZZ_FLAGS)

# Each target briefly from its seeds; new inputs go to a scratch directory, not into git. A
# failure prints the fuzzer's report (the crashing input is saved under fuzz/artifacts/).
fuzz-smoke: fuzz-build
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	for t in $$($(CARGO_FUZZ) list); do \
		mkdir -p "$$scratch/$$t"; \
		if ! $(FUZZ) run $(FUZZ_FLAGS) $$t "$$scratch/$$t" fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 > "$$scratch/$$t.log" 2>&1; then \
			tail -n 60 "$$scratch/$$t.log"; echo "fuzz-smoke: $$t FAILED"; exit 1; fi; \
		echo "fuzz-smoke: $$t ok, $$(sed -n 's/^stat::number_of_executed_units: *//p' "$$scratch/$$t.log") runs, $$(grep -o 'cov: [0-9]*' "$$scratch/$$t.log" | tail -n 1)"; \
	done

fuzz: fuzz-build
	@for t in $$($(CARGO_FUZZ) list); do \
		mkdir -p "$(FUZZ_CORPUS)/$$t"; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ) run $(FUZZ_FLAGS) $$t "$(FUZZ_CORPUS)/$$t" fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1 | grep -Ev '^#[0-9]+ +(NEW|REDUCE) ' || exit 1; \
	done


# Every check, each stage's time printed. After the README walkthrough three lanes run side by
# side (-j3): the soak alone (it mostly waits on a moto of its own, one core); sam build, then the
# fuzz smoke run (compiling, then one core); schemathesis, then the browser tests (each against a
# local stack of its own).
TEST_STAGES := check integration template web walkthrough
LANES := lane-soak lane-build lane-api

test:
	@start=$$(date +%s); \
	for stage in $(TEST_STAGES); do \
		s=$$(date +%s); $(MAKE) --no-print-directory $$stage; \
		echo "make test: $$stage took $$(( $$(date +%s) - s )) s"; \
	done; \
	s=$$(date +%s); $(MAKE) --no-print-directory -j3 --output-sync=target $(LANES); \
	echo "make test: the three lanes took $$(( $$(date +%s) - s )) s"; \
	echo "make test: all checks passed in $$(( $$(date +%s) - start )) s"

lane-soak: timed-soak
lane-build: timed-build-check
	@$(MAKE) --no-print-directory timed-fuzz-smoke
lane-api: timed-schemathesis
	@$(MAKE) --no-print-directory timed-e2e

# `make timed-<stage>`: the stage, then its time.
timed-%:
	@s=$$(date +%s); $(MAKE) --no-print-directory $*; echo "make test: $* took $$(( $$(date +%s) - s )) s"

bench: setup
	$(CARGO) bench $(CARGO_FLAGS) --workspace

bench-pipeline:
	CARGO="$(CARGO)" CARGO_FLAGS="$(CARGO_FLAGS)" scripts/bench-pipeline

bench-coldstart: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" scripts/bench-coldstart --check

deploy: build
	@if grep -q '^region' samconfig.toml; then $(VENV)/bin/sam deploy; else $(VENV)/bin/sam deploy --guided; fi
	scripts/deploy-web

clean:
	rm -rf $(VENV) .local .aws-sam
