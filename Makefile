# kubebuilder-style targets for the Python WorkflowExecution controller.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
IMG ?= workflowexecution-controller:latest
BENCH_SIZE ?= smoke
FAULTS_SIZE ?= reduced

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

##@ Setup

# Set-up steps talk on stderr, so `make control-plane` prints exactly one line on stdout.
$(VENV)/.installed: pyproject.toml
	@echo "creating $(VENV) with the controller and its test/dev tools" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install -q --upgrade pip >&2
	@$(PY) -m pip install -q -e '.[test,dev]' >&2
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with the controller and its test/dev tools

.PHONY: envtest
envtest: ## Build kube-apiserver + etcd from Go modules and fetch Tekton CRDs (cached outside the checkout)
	@bash hack/build-envtest.sh >&2

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
test-e2e: venv ## End-to-end tests on KIND + Tekton (skip where Docker/kind are missing)
	$(PY) -m pytest test/e2e -q -rs

.PHONY: test-faults
test-faults: venv envtest ## Fault matrix against the local control plane (FAULTS_SIZE=reduced|full); figures at the end
	WFE_FAULTS_SIZE=$(FAULTS_SIZE) WFE_FAULTS_REPORT=bench/out/faults-$(FAULTS_SIZE).md WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m pytest test/faults -q -rsx

.PHONY: test
test: venv envtest lint ## Everything CI runs: lint, unit, integration, e2e (skips), reduced fault matrix, smoke benchmark
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m pytest test -q -rs --ignore=test/faults
	$(MAKE) test-faults FAULTS_SIZE=reduced
	$(MAKE) bench BENCH_SIZE=smoke

.PHONY: bench
bench: venv envtest ## Benchmark against the local control plane (BENCH_SIZE=smoke|full)
	WFE_ENVTEST_ASSETS="$$(bash hack/build-envtest.sh)" $(PY) -m bench --size $(BENCH_SIZE) --out bench/out

##@ Run

.PHONY: control-plane
control-plane: venv envtest ## Start the local control plane in the foreground; prints KUBECONFIG=<path>
	@$(PY) hack/control_plane.py

.PHONY: run
run: venv ## Run the controller from source against the current kubeconfig (no cluster: a local control plane)
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
