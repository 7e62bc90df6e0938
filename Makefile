# tollfree-operator — the two commands of the README, and their helpers.
#
#   make run        build, start a local control plane + the simulator + the operator,
#                   apply the example, wait for Ready, and leave it running.
#   make test       every test: fmt, clippy, unit, property, contract, integration, e2e,
#                   image, Helm chart.
#   make stop       stop what `make run` started.
#
#   make static     the operator as a static (musl) binary: runs with no libc present.
#   make image      the container image from it, without a container engine (hack/image.sh).
#   make crd        regenerate the CRD (crds/ and the chart's copy) from the Rust types.
#   make manifests  regenerate deploy/tollfree-operator.yaml from the Helm chart.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
RUN_DIR ?= $(CURDIR)/.tmp/run
CARGO ?= cargo

# The static binary: musl, so that the image needs no libc (and no distro
# base). `release` for the image; `make static STATIC_PROFILE=dev` builds a
# debug one (what the image tests of `make test` use: faster to build).
STATIC_TARGET := x86_64-unknown-linux-musl
STATIC_PROFILE ?= release
STATIC_BIN = target/$(STATIC_TARGET)/$(if $(filter dev,$(STATIC_PROFILE)),debug,$(STATIC_PROFILE))/tollfree-operator
# Where `make image` writes the OCI layout, the docker-archive and the digest.
IMAGE_DIR ?= target/image
# The image the tests check (tests/image.rs builds it the same way if missing).
TEST_IMAGE_DIR := target/image-test

.PHONY: all build test lint fmt crd manifests control-plane tools static image test-image \
	run stop bench bench-plan bench-convergence

all: build

build:
	$(CARGO) build --workspace --all-targets

# Builds kube-apiserver and etcd once (cached outside the repository).
control-plane:
	hack/control-plane.sh build

# Builds the Go tools of hack/tools.sh once (helm, crane, promtool, kstatus,
# the Lua health harness), cached outside the repository.
tools:
	hack/tools.sh build

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: control-plane tools lint test-image
	$(CARGO) test --workspace --no-fail-fast

fmt:
	$(CARGO) fmt --all

# Regenerates the checked-in CRD from the Rust types, and the chart's copy of it.
crd:
	$(CARGO) run --quiet -- crd > crds/tollfreenumberset.yaml
	cp crds/tollfreenumberset.yaml charts/tollfree-operator/crd/tollfreenumberset.yaml

# deploy/ (kustomize) is the chart rendered with its defaults.
manifests: crd
	hack/render-deploy.sh > deploy/tollfree-operator.yaml

static:
	hack/setup-static.sh
	$(CARGO) build --locked --profile $(STATIC_PROFILE) --target $(STATIC_TARGET) --bin tollfree-operator
	@echo "static binary: $(STATIC_BIN)"

image: static
	hack/image.sh build $(STATIC_BIN) $(IMAGE_DIR)

test-image:
	$(MAKE) --no-print-directory image STATIC_PROFILE=dev IMAGE_DIR=$(TEST_IMAGE_DIR)

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
