# kubebuilder-style targets for the Python WorkflowExecution controller.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
IMG ?= workflowexecution-controller:latest
BENCH_SIZE ?= smoke
BENCH_PEERS_SIZE ?= moderate
SCALE_SIZE ?= full
SCALE_PEERS ?=
SOAK_MINUTES ?= 30
FLIPS_WORKERS ?= 16
FLIPS_REPEATS ?= 3
FLIPS_GO_PEER ?=
FAULTS_SIZE ?= reduced

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

##@ Setup

# Set-up steps talk on stderr, so `make control-plane` prints exactly one line on stdout.
# Everything comes from the hashed lock files in requirements/ (pip's hash-checking mode): the
# installer and build backend first, then the runtime and test/dev tools, then the package itself
# (editable, no dependency resolution, no unpinned build environment).
$(VENV)/.installed: pyproject.toml requirements/build.txt requirements/dev.txt
	@echo "creating $(VENV) with the controller and its test/dev tools (pinned: requirements/)" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install -q --require-hashes -r requirements/build.txt >&2
	@$(PY) -m pip install -q --require-hashes -r requirements/dev.txt >&2
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e . >&2
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with the controller and its test/dev tools

# uv resolves for every platform and Python >= 3.11 at once (--universal) and keeps the versions
# already pinned unless asked to upgrade (make lock UPGRADE=1).
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	$(if $(UPGRADE),--upgrade,)

.PHONY: lock
lock: venv ## Re-pin requirements/*.txt from pyproject.toml (UPGRADE=1: newest allowed versions)
	$(UV_COMPILE) -o requirements/build.txt requirements/build.in
	$(UV_COMPILE) -c requirements/build.txt -o requirements/runtime.txt pyproject.toml
	$(UV_COMPILE) -c requirements/build.txt -c requirements/runtime.txt --extra test --extra dev \
		-o requirements/dev.txt pyproject.toml requirements/build.in

.PHONY: envtest
envtest: ## Build kube-apiserver + etcd from Go modules and fetch Tekton CRDs (cached outside the checkout)
	@bash hack/build-envtest.sh >&2

.PHONY: cluster-binaries
cluster-binaries: ## Build the local cluster (envtest + scheduler, controller-manager, Tekton, kwok, registry) once
	@bash hack/build-cluster.sh >&2

# Where the builds above put their binaries (each script prints its directory; cached, so instant).
ASSET_ENV = WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" WFE_CLUSTER_BINARIES="$$(bash hack/build-cluster.sh)"

.PHONY: promtool
promtool: ## Build promtool from Go modules for the alert unit tests (cached outside the checkout)
	@bash hack/build-promtool.sh >&2

##@ Development

.PHONY: manifests
manifests: venv ## Generate the CRD YAML from the pydantic models
	$(PY) hack/gen_crd.py

.PHONY: fmt
fmt: venv ## Format the code
	$(VENV)/bin/ruff format .

.PHONY: lint
lint: venv ## ruff, mypy --strict, import-linter layering, CRD drift
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) hack/gen_crd.py --check

.PHONY: test-unit
test-unit: venv ## Unit tests (no API server)
	$(PY) -m pytest test/unit -q

.PHONY: test-integration
test-integration: venv envtest ## Integration tests against a real local kube-apiserver + etcd
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m pytest test/integration -q

.PHONY: test-e2e
test-e2e: venv cluster-binaries ## End-to-end tests with real Tekton on the local cluster (WFE_E2E=kind: on KIND)
	$(ASSET_ENV) $(PY) -m pytest test/e2e -q -rs

.PHONY: test-alerts
test-alerts: venv promtool ## promtool unit tests of the alerts in config/prometheus
	WFE_PROMTOOL="$$(bash hack/build-promtool.sh)" $(PY) -m pytest test/unit/prometheus -q -rs

.PHONY: test-faults
test-faults: venv envtest ## Fault matrix against the local control plane (FAULTS_SIZE=reduced|full); figures at the end
	WFE_FAULTS_SIZE=$(FAULTS_SIZE) WFE_FAULTS_REPORT=bench/out/faults-$(FAULTS_SIZE).md WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m pytest test/faults -q -rsx

.PHONY: test
test: venv ## Everything CI runs: lint, unit, integration, reduced fault matrix, alert rules (promtool), e2e (real Tekton), smoke benchmark
	@PY=$(PY) bash hack/test.sh

.PHONY: bench
bench: venv envtest ## Benchmark the controller as its own process (BENCH_SIZE=smoke|moderate|full)
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench --size $(BENCH_SIZE) --out bench/out

.PHONY: bench-peers
bench-peers: venv envtest ## The same side by side with the Go controller-runtime and kopf peers (BENCH_PEERS_SIZE=moderate)
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench --peers --size $(BENCH_PEERS_SIZE) --out bench/out/peers

.PHONY: bench-scale
bench-scale: venv envtest ## Scale: 10,000 WFEs (cold start, RSS, lock check), 1,000 flipped at once (SCALE_SIZE=full|smoke; SCALE_PEERS=1: + Go peer, more workers, bare-client floor)
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench.scale --size $(SCALE_SIZE) --out bench/out $(if $(SCALE_PEERS),--peers)

.PHONY: bench-flips
bench-flips: venv envtest ## The 1,000-flip repeated, ours and the bare client in turns (FLIPS_WORKERS=16, FLIPS_REPEATS=3; FLIPS_GO_PEER=1: + the Go peer)
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench.flips --workers $(FLIPS_WORKERS) --repeats $(FLIPS_REPEATS) --out bench/out $(if $(FLIPS_GO_PEER),--go-peer)

.PHONY: bench-soak
bench-soak: venv envtest ## Soak: a steady trickle for SOAK_MINUTES (30), the controller's RSS and open files over time
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench.soak --minutes $(SOAK_MINUTES) --out bench/out

##@ Run

.PHONY: control-plane
control-plane: venv envtest ## Start the local control plane in the foreground; prints KUBECONFIG=<path>
	@$(PY) hack/control_plane.py

.PHONY: cluster
cluster: venv cluster-binaries ## Start the local cluster with real Tekton in the foreground; prints KUBECONFIG=<path>
	@$(ASSET_ENV) $(PY) hack/cluster.py

.PHONY: run
run: venv ## Run the controller from source against the current kubeconfig (no cluster: the local-cluster demo)
	@$(PY) hack/run.py $(ARGS)

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the cluster of the current kubeconfig
	kubectl apply -f config/crd/bases

.PHONY: uninstall
uninstall: ## Remove the CRDs
	kubectl delete --ignore-not-found -f config/crd/bases

.PHONY: deploy
deploy: ## Deploy the controller (config/default) with image IMG to the cluster of the current kubeconfig
	kubectl kustomize config/default | sed 's|image: workflowexecution-controller:latest|image: $(IMG)|' | kubectl apply -f -

.PHONY: undeploy
undeploy: ## Remove the controller deployment
	kubectl delete --ignore-not-found -k config/default

.PHONY: docker-build
docker-build: ## Build the container image (needs a container engine)
	docker build -t $(IMG) .
