#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd from Go modules (the envtest approach, no prebuilt binaries)
# and fetches Tekton's CRDs from the pinned tektoncd/pipeline module. Everything lands in a cache
# outside the checkout, keyed by version, so only the first run on a machine pays for the build.
#
# Prints the directory holding kube-apiserver, etcd and tekton-crds/ on its last line of stdout.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
# etcd comes from the same module graph k8s.io/kubernetes pins (go.etcd.io/etcd/server/v3), so both
# binaries share one go.mod and one download.
TEKTON_VERSION="${TEKTON_VERSION:-v1.12.0}"
CACHE_ROOT="${WFE_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wfe-envtest}"
OUT="$CACHE_ROOT/k8s-$KUBE_VERSION-tekton-$TEKTON_VERSION"

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib/k8s-tools-module.sh
source "$HACK/lib/k8s-tools-module.sh"
# shellcheck source=hack/lib/kube-version-ldflags.sh
source "$HACK/lib/kube-version-ldflags.sh"

log() { printf '[build-envtest] %s\n' "$*" >&2; }

# The apiserver must report a real version (gitVersion etc. stamped below): knative-based binaries
# such as Tekton's controller refuse to start against "v0.0.0-master+$Format:%H$". The marker file
# tells a stamped build from an older unstamped one in the same cache.
if [[ -x "$OUT/kube-apiserver" && -f "$OUT/.version-stamped" && -x "$OUT/etcd" && -f "$OUT/tekton-crds/.complete" ]]; then
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { log "go is required to build the control plane"; exit 1; }
mkdir -p "$OUT"
WORK="$CACHE_ROOT/build-$KUBE_VERSION"
k8s_tools_module "$WORK" "$KUBE_VERSION"   # hack/lib: one module graph for every k8s binary
cd "$WORK"

log "building kube-apiserver $KUBE_VERSION"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $(kube_version_ldflags "$KUBE_VERSION")" \
  -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
touch "$OUT/.version-stamped"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
log "building etcd $etcd_version"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3

log "fetching Tekton CRDs from github.com/tektoncd/pipeline@$TEKTON_VERSION"
tekton_dir="$(go mod download -json "github.com/tektoncd/pipeline@$TEKTON_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
rm -rf "$OUT/tekton-crds"
mkdir -p "$OUT/tekton-crds"
cp "$tekton_dir"/config/300-crds/*.yaml "$OUT/tekton-crds/"
chmod -R u+w "$OUT/tekton-crds"
touch "$OUT/tekton-crds/.complete"

log "done: $OUT"
echo "$OUT"
