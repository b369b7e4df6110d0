# Every target is one thing CI also does. See README.md.
SHELL := /bin/bash
CARGO ?= cargo
PORT ?= 8080
TRACES ?= 0
PROMETHEUS ?= 0
NEXTEST := $(shell command -v cargo-nextest 2>/dev/null)

.PHONY: all build lint fmt test run bench clean-test-databases

all: build

## build: debug build of every service
build:
	$(CARGO) build --workspace --bins

## lint: module import layers, formatting, clippy with warnings as errors, shell scripts
lint:
	deploy/check-layers.py
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path services/protocol/fuzz/Cargo.toml -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## fmt: format the code
fmt:
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path services/protocol/fuzz/Cargo.toml

## test: every test: unit and integration tests against the local PostgreSQL, Redis and
## RabbitMQ (and the real-time suites again on a local Redis Cluster, with a failover),
## the web client's type check and unit tests, the end-to-end run through nginx
## and two gateways, the web client in Chromium (Playwright), the REST API against its
## OpenAPI document (schemathesis, seeded), the fault test (its own Redis, PostgreSQL and RabbitMQ restarted
## under load) and the deployment checks
test: deps
ifneq ($(NEXTEST),)
	$(CARGO) nextest run --workspace --locked --no-fail-fast --test-threads 6
	$(CARGO) test --workspace --locked --doc
	deploy/local/cluster-tests.sh
else
	$(CARGO) test --workspace --locked --no-fail-fast
endif
	deploy/local/fuzz.sh
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	npm run --prefix web --silent lint
	npm run --prefix web --silent test
	deploy/local/e2e.sh
	deploy/local/web-e2e.sh
	deploy/local/api-fuzz.sh
	deploy/local/faults.sh
	deploy/check-manifests.sh

## test-cluster: the Redis Cluster runs of `make test` alone: the real-time suites on a
## local cluster of three masters with replicas, then a master failover under sends
.PHONY: test-cluster
test-cluster:
	deploy/local/cluster-tests.sh

## fuzz: the fuzzing runs long: the coverage-guided targets (client frames, resume and
## cursors) 10 minutes each, the generated-input tests of the frame parser with 200,000
## cases each and of the cursor with 20,000; `make test` runs them short
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=600 deploy/local/fuzz.sh
	PROPTEST_CASES=200000 $(CARGO) test -p chat-protocol --locked --release --test frame_fuzz
	PROPTEST_CASES=20000 $(CARGO) test -p chat-gateway --locked --release --lib ws::cursor

## deps: PostgreSQL, Redis and RabbitMQ answering (installed and started when missing), and
## the tools the tests use (nginx, Node.js, psql, jq, Chromium, SeaweedFS answering S3)
.PHONY: deps
deps:
	deploy/local/services.sh
	deploy/local/install-tools.sh

## run: the whole stack on this machine, public API at http://127.0.0.1:$(PORT);
## TRACES=1 prints each trace as a tree (into .run/logs/traces.log too); PROMETHEUS=1
## starts a Prometheus scraping every service at http://127.0.0.1:9090
run:
	PORT=$(PORT) TRACES=$(TRACES) PROMETHEUS=$(PROMETHEUS) deploy/local/run.sh

## protocol: regenerate the client protocol's JSON Schema and TypeScript (services/protocol/generated)
.PHONY: protocol
protocol:
	UPDATE_GENERATED=1 $(CARGO) test -p chat-protocol --lib generated

## bench: benchmarks that print figures (release build)
bench:
	deploy/local/bench.sh

## clean-test-databases: drop the databases integration tests left behind
clean-test-databases:
	deploy/local/clean-test-databases.sh

## web-e2e: the web client's browser tests (Playwright, Debian's Chromium) against a stack of
## their own; screenshots into docs/screenshots
.PHONY: web-e2e
web-e2e:
	deploy/local/web-e2e.sh

## check-deploy: Dockerfile, compose file, nginx configs, Kubernetes manifests and alert rules, offline
## faults: the fault test alone (FAULTS="redis rooms" for some of them)
.PHONY: faults chaos
faults:
	deploy/local/faults.sh

## chaos: the fault suite at full size: release build, 1000 users, every fault (Redis,
## RabbitMQ and PostgreSQL restarted, each service killed -9, a gateway paused past its
## heartbeat); ends with a table per fault (acknowledged, lost, duplicated, recovery)
chaos:
	PROFILE=release FAULTS_USERS=1000 FAULTS_SCENARIO=loadtest/scenarios/chaos.toml FAULTS_WARMUP=35 \
	  RECOVERY_LIMIT=$${RECOVERY_LIMIT:-15} deploy/local/faults.sh

.PHONY: check-deploy
check-deploy:
	deploy/check-manifests.sh

## check-clean-install: on a fresh Debian 12 minbase (root): services.sh and install-tools.sh
## install and start everything, then make run brings the stack up and it answers (docs/operations.md)
.PHONY: check-clean-install
check-clean-install:
	deploy/local/check-clean-install.sh

## loadtest: the standard 1000-user run against `make run`'s stack (found at PORT); refuses a
## debug stack (make run PROFILE=release); reports in .run/loadtest
.PHONY: loadtest
loadtest:
	PORT=$(PORT) deploy/local/loadtest.sh
