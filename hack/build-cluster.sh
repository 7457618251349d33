#!/usr/bin/env bash
# Builds, from Go modules only, everything the local cluster needs on top of the envtest control
# plane (hack/build-envtest.sh): kube-scheduler and kube-controller-manager (same module graph as the
# apiserver), the Tekton Pipelines controller and remote resolvers, wfe-bundle (a local OCI registry
# and Tekton-bundle pusher, hack/tools/wfe-bundle) and kwok (the simulated kubelet). Tekton's own
# config maps are copied from its module next to the binaries.
#
# Three module graphs build in parallel (k8s, Tekton, kwok); each lands once per machine in a cache
# outside the checkout. Progress goes to stderr; the last line of stdout is the directory holding the
# binaries and tekton-config/. The envtest directory is printed by hack/build-envtest.sh.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
TEKTON_VERSION="${TEKTON_VERSION:-v1.12.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${WFE_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wfe-envtest}"
OUT="$CACHE_ROOT/cluster-k8s-$KUBE_VERSION-tekton-$TEKTON_VERSION-kwok-$KWOK_VERSION"
BUNDLE_SRC="$HACK/tools/wfe-bundle/main.go"
bundle_key="$(sha256sum "$BUNDLE_SRC" | cut -c1-12)"

# shellcheck source=hack/lib/k8s-tools-module.sh
source "$HACK/lib/k8s-tools-module.sh"
# shellcheck source=hack/lib/kube-version-ldflags.sh
source "$HACK/lib/kube-version-ldflags.sh"

log() { printf '[build-cluster %s] %s\n' "$(date +%T)" "$*" >&2; }
export CGO_ENABLED=0
# Tekton and kwok are test tools with module graphs of their own, so they are compiled without
# optimisation or inlining, as promtool is: about a fifth less CPU on a cold machine. The scheduler
# and the controller-manager keep the default flags: they share the apiserver's compile cache, which
# other flags would throw away.
TOOL_GCFLAGS="all=-N -l"

complete() {
  local f
  for f in kube-scheduler kube-controller-manager kwok tekton-controller tekton-resolvers wfe-bundle; do
    [[ -x "$OUT/$f" ]] || return 1
  done
  [[ -f "$OUT/.wfe-bundle-$bundle_key" && -f "$OUT/tekton-config/.complete" ]]
}

if complete; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "go is required to build the local cluster"; exit 1; }
mkdir -p "$OUT"

timed() { # label command...: runs it, logging how long it took
  local label=$1 began=$SECONDS; shift
  log "building $label"
  "$@"
  log "built $label in $((SECONDS - began))s"
}

build_k8s() {
  bash "$HACK/build-envtest.sh" >/dev/null   # the apiserver graph first: the integration tier needs it
  local work="$CACHE_ROOT/build-$KUBE_VERSION" flags
  k8s_tools_module "$work" "$KUBE_VERSION"
  flags="-s -w $(kube_version_ldflags "$KUBE_VERSION")"
  cd "$work"
  [[ -x "$OUT/kube-scheduler" ]] || timed kube-scheduler \
    go build -trimpath -ldflags "$flags" -o "$OUT/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
  [[ -x "$OUT/kube-controller-manager" ]] || timed kube-controller-manager \
    go build -trimpath -ldflags "$flags" -o "$OUT/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
}

build_tekton() {
  local work="$CACHE_ROOT/build-tekton-$TEKTON_VERSION" gomod tekton_dir
  mkdir -p "$work/cmd/wfe-bundle"
  cd "$work"
  if [[ ! -f ".tidy-$bundle_key" ]]; then
    log "resolving github.com/tektoncd/pipeline@$TEKTON_VERSION"
    gomod="$(go mod download -json "github.com/tektoncd/pipeline@$TEKTON_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
    # wfe-bundle builds inside Tekton's module graph, so go-containerregistry is the version Tekton's
    # bundles resolver uses; Tekton's own replace lines are carried over.
    {
      printf 'module wfe.local/tekton-tools\n\n'
      sed -n 's/^go [0-9.]*$/&/p' "$gomod"
      printf '\nrequire github.com/tektoncd/pipeline %s\n\n' "$TEKTON_VERSION"
      grep '^replace ' "$gomod" | sed 's#//.*##' || true
    } >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/tektoncd/pipeline/cmd/controller"\n\t_ "github.com/tektoncd/pipeline/cmd/resolvers"\n)\n' >tools.go
    cp "$BUNDLE_SRC" cmd/wfe-bundle/main.go
    log "downloading Tekton's modules (first run only)"
    go mod tidy >&2
    touch ".tidy-$bundle_key"
  fi
  [[ -x "$OUT/tekton-controller" ]] || timed tekton-controller \
    go build -trimpath -gcflags "$TOOL_GCFLAGS" -ldflags "-s -w" -o "$OUT/tekton-controller" github.com/tektoncd/pipeline/cmd/controller
  [[ -x "$OUT/tekton-resolvers" ]] || timed tekton-resolvers \
    go build -trimpath -gcflags "$TOOL_GCFLAGS" -ldflags "-s -w" -o "$OUT/tekton-resolvers" github.com/tektoncd/pipeline/cmd/resolvers
  if [[ ! -f "$OUT/.wfe-bundle-$bundle_key" ]]; then
    timed wfe-bundle go build -trimpath -gcflags "$TOOL_GCFLAGS" -ldflags "-s -w" -o "$OUT/wfe-bundle" ./cmd/wfe-bundle
    rm -f "$OUT"/.wfe-bundle-*
    touch "$OUT/.wfe-bundle-$bundle_key"
  fi
  if [[ ! -f "$OUT/tekton-config/.complete" ]]; then
    tekton_dir="$(go mod download -json "github.com/tektoncd/pipeline@$TEKTON_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
    rm -rf "$OUT/tekton-config"
    mkdir -p "$OUT/tekton-config/resolvers"
    cp "$tekton_dir"/config/100-namespace/100-namespace.yaml "$tekton_dir"/config/config-*.yaml "$OUT/tekton-config/"
    cp "$tekton_dir"/config/resolvers/*.yaml "$OUT/tekton-config/resolvers/"
    chmod -R u+w "$OUT/tekton-config"
    touch "$OUT/tekton-config/.complete"
  fi
}

build_kwok() {
  local work="$CACHE_ROOT/build-kwok-$KWOK_VERSION" gomod
  [[ -x "$OUT/kwok" ]] && return 0
  mkdir -p "$work"
  cd "$work"
  gomod="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  {
    printf 'module wfe.local/kwok-tools\n\n'
    sed -n 's/^go [0-9.]*$/&/p' "$gomod"
    printf '\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION"
  } >go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' >tools.go
  log "downloading kwok's modules (first run only)"
  go mod tidy >&2
  timed kwok go build -trimpath -gcflags "$TOOL_GCFLAGS" -ldflags "-s -w" -o "$OUT/kwok" sigs.k8s.io/kwok/cmd/kwok
}

began=$SECONDS
pids=()
for step in ${WFE_BUILD_STEPS:-k8s tekton kwok}; do
  ("build_$step") & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if ((failed)) || ! complete; then
  log "the local cluster build failed (see above)"
  exit 1
fi
log "local cluster binaries ready in $((SECONDS - began))s: $OUT"
echo "$OUT"
