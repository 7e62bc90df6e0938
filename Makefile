# tollfree-operator — the two commands of the README, and their helpers.
#
#   make run    build, start a local control plane + the simulator + the operator,
#               apply the example, wait for Ready, and leave it running.
#   make test   every test: fmt, clippy, unit, property, contract, integration, e2e.
#   make stop   stop what `make run` started.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
RUN_DIR ?= $(CURDIR)/.tmp/run
CARGO ?= cargo

.PHONY: all build test lint fmt crd control-plane run stop bench bench-plan bench-convergence

all: build

build:
	$(CARGO) build --workspace --all-targets

# Builds kube-apiserver and etcd once (cached outside the repository).
control-plane:
	hack/control-plane.sh build

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: control-plane lint
	$(CARGO) test --workspace --no-fail-fast

fmt:
	$(CARGO) fmt --all

# Regenerates the checked-in CRD from the Rust types.
crd:
	$(CARGO) run --quiet -- crd > crds/tollfreenumberset.yaml

# Figures, not pass/fail timings: see BENCHMARKS.md.
bench: bench-plan bench-convergence

bench-plan:
	$(CARGO) bench -p tollfree-plan

# Operator + real apiserver + simulator: vendor calls against the physical minimum, time,
# peak memory, steady state and spec-change latency, one scenario at a time (release build).
# BENCH_ONLY=scenario_c runs one scenario; TOLLFREE_BENCH_SCALE[_B|_C|_D]=0.25 shrinks them
# (see BENCHMARKS.md).
BENCH_ONLY ?=
bench-convergence: control-plane
	$(CARGO) test --release --test bench_convergence -- --ignored --nocapture --test-threads 1 $(BENCH_ONLY)

run: control-plane
	hack/run-local.sh start "$(RUN_DIR)"

stop:
	hack/run-local.sh stop "$(RUN_DIR)"
