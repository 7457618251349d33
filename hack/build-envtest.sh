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

log() { printf '[build-envtest] %s\n' "$*" >&2; }

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" && -f "$OUT/tekton-crds/.complete" ]]; then
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { log "go is required to build the control plane"; exit 1; }
mkdir -p "$OUT"
WORK="$CACHE_ROOT/build-$KUBE_VERSION"
mkdir -p "$WORK"
cd "$WORK"

minor="${KUBE_VERSION#v1.}"   # 37.2 -> staging modules are v0.37.2
staging_version="v0.${minor}"

log "resolving k8s.io/kubernetes@$KUBE_VERSION"
kube_mod_json="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")"
kube_gomod="$(printf '%s' "$kube_mod_json" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
go_directive="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$kube_gomod")"

{
  echo "module wfe.local/envtest-tools"
  echo
  echo "go $go_directive"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  # every staging module k8s.io/kubernetes maps to ./staging is replaced by its published twin
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$kube_gomod" | while read -r m; do
    echo "	$m => $m $staging_version"
  done
  echo ")"
} > go.mod

cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO

log "downloading modules (first run only)"
go mod tidy >&2 || {
  # some staging twins may not be published for every minor; drop the ones tidy cannot resolve
  log "go mod tidy failed"; exit 1; }

log "building kube-apiserver $KUBE_VERSION"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
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
