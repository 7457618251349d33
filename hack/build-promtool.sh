#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus/cmd/promtool) from Go modules, for
# `promtool test rules` on config/prometheus. Cached outside the checkout, keyed by version, so only
# the first run on a machine pays for the build.
#
# The smallest build that still is the real promtool: `go install pkg@version` uses Prometheus's own
# go.mod and go.sum (exact pins, nothing resolved here), and the build tag `remove_all_sd` drops the
# ~25 cloud service-discovery plugins (AWS, Azure, GCE, OpenStack, ... and their SDKs) that rule unit
# tests never touch: 1117 packages and 50 MB of non-standard Go source instead of 1364 and 129 MB.
# What is left is half Kubernetes client libraries (promtool imports Kubernetes SD directly), which
# only a patched promtool could drop. It is a test tool, so it is compiled without optimisation or
# inlining (-N -l): 20% less CPU. Measured cold (empty caches) on 2 cores: about 5 CPU-minutes of
# compiling (about 3 minutes of wall time on an idle machine) plus downloading ~1 GB of modules.
#
# Prints the path of the promtool binary on its last line of stdout; talks on stderr.
set -euo pipefail

# Prometheus 3.x is published to the module proxy as v0.3MM.P (v0.316.0 is Prometheus 3.16.0).
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
CACHE_ROOT="${WFE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wfe-tools}"
OUT="$CACHE_ROOT/promtool-$PROMETHEUS_MODULE_VERSION"
BINARY="$OUT/promtool"

log() { printf '[build-promtool] %s\n' "$*" >&2; }

if [[ -x "$BINARY" ]]; then
  echo "$BINARY"
  exit 0
fi
command -v go >/dev/null || { log "go is required to build promtool"; exit 1; }

minor="${PROMETHEUS_MODULE_VERSION#v0.}"       # 316.0
release="3.$((10#${minor%%.*} - 300)).${minor#*.}" # 3.16.0
mkdir -p "$CACHE_ROOT"
staging="$(mktemp -d "$CACHE_ROOT/.promtool-build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

log "building promtool $release (module $PROMETHEUS_MODULE_VERSION, tags remove_all_sd)"
started=$SECONDS
CGO_ENABLED=0 GOBIN="$staging" go install -trimpath -tags remove_all_sd -gcflags='all=-N -l' \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
mkdir -p "$OUT"
mv "$staging/promtool" "$BINARY"   # atomic within one filesystem: a half-built binary is never cached
log "done in $((SECONDS - started))s: $BINARY ($("$BINARY" --version 2>&1 | head -1))"
echo "$BINARY"
