#!/usr/bin/env bash
# `make test`: every tier CI runs, ordered so that a cold machine never waits on a Go build it does
# not need yet.
#
#   1. lint                                   (seconds; fails fast)
#   2. kube-apiserver + etcd                  (hack/build-envtest.sh; the only build on the critical path)
#   3. unit + integration, then the reduced fault matrix, all against that control plane, while
#      promtool and the rest of the local cluster (scheduler, controller-manager, Tekton, kwok,
#      registry) build in the background at the lowest CPU priority, so the tests keep their pace
#   4. wait for that build, then the alert rules (promtool) and the e2e tier (real Tekton)
#   5. the smoke benchmark
#
# On a warm machine the builds are cached and steps 2 and 4 take no time. Prints each phase with the
# time it started on stderr; exits non-zero on the first failing phase (the background build is
# stopped with it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
FAULTS_SIZE="${FAULTS_SIZE:-reduced}"
began=$SECONDS
phase() { printf '[make test +%ss] %s\n' "$((SECONDS - began))" "$*" >&2; }

builder=""
stop_builder() {
  if [[ -n "$builder" ]] && kill -0 "$builder" 2>/dev/null; then
    kill -- "-$builder" 2>/dev/null || kill "$builder" 2>/dev/null || true
  fi
}
trap stop_builder EXIT

phase "lint"
make --no-print-directory lint

phase "control plane build (cached after the first run)"
envtest="$(bash hack/build-envtest.sh)"

phase "promtool and local cluster build in the background (nice 19)"
set -m # the builder gets a process group of its own, so stopping it stops its go builds too
(nice -n 19 bash hack/build-promtool.sh >/dev/null && nice -n 19 bash hack/build-cluster.sh >/dev/null) &
builder=$!
set +m

phase "unit and integration tiers"
WFE_ENVTEST_ASSETS="$envtest" "$PY" -m pytest test/unit test/integration -q -rs \
  --ignore=test/unit/prometheus

phase "fault matrix ($FAULTS_SIZE)"
WFE_FAULTS_SIZE="$FAULTS_SIZE" WFE_FAULTS_REPORT="bench/out/faults-$FAULTS_SIZE.md" \
  WFE_ENVTEST_ASSETS="$envtest" "$PY" -m pytest test/faults -q -rsx

phase "waiting for the background build"
if ! wait "$builder"; then
  builder=""
  echo "the promtool or local cluster build failed (its output is above)" >&2
  exit 1
fi
builder=""

phase "alert rules (promtool) and the e2e tier (real Tekton)"
WFE_ENVTEST_ASSETS="$envtest" WFE_CLUSTER_BINARIES="$(bash hack/build-cluster.sh)" \
  WFE_PROMTOOL="$(bash hack/build-promtool.sh)" "$PY" -m pytest test/unit/prometheus test/e2e -q -rs

phase "smoke benchmark"
WFE_ENVTEST_ASSETS="$envtest" "$PY" -m bench --size smoke --out bench/out

phase "all tiers passed"
