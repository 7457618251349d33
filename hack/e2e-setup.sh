#!/usr/bin/env bash
# Sets up a KIND cluster for the end-to-end tests, step by step, so a human and the pytest suite
# (test/e2e) do it the same way:
#
#   hack/e2e-setup.sh                     cluster tekton image deploy   (everything, by hand)
#   hack/e2e-setup.sh tekton image deploy what test/e2e runs on the cluster pytest-kind created
#   hack/e2e-setup.sh bundle              push the test workflow bundle to $WFE_E2E_BUNDLE (needs tkn)
#
# Needs: docker (with a running daemon), kind, kubectl >= 1.27. The current KUBECONFIG is used;
# `cluster` writes kind's context into it.
#
# Environment:
#   KIND_CLUSTER     kind cluster name                      (default wfe-e2e)
#   TEKTON_VERSION   Tekton Pipelines release to install    (default v1.12.0, as the envtest CRDs)
#   IMG              controller image, name:tag             (default workflowexecution-controller:e2e)
#   WFE_E2E_BUNDLE   OCI reference of the test workflow bundle (the `bundle` step pushes it there;
#                    the cluster must be able to pull it, e.g. ttl.sh/wfe-e2e-$(uuidgen):2h)
set -euo pipefail

KIND_CLUSTER="${KIND_CLUSTER:-wfe-e2e}"
TEKTON_VERSION="${TEKTON_VERSION:-v1.12.0}"
IMG="${IMG:-workflowexecution-controller:e2e}"
TEKTON_RELEASE="https://infra.tekton.dev/tekton-releases/pipeline/previous/${TEKTON_VERSION}/release.yaml"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[e2e-setup] %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null || { log "$1 is required: $2"; exit 1; }; }

step_cluster() {
  need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  if kind get clusters | grep -qx "$KIND_CLUSTER"; then
    log "kind cluster $KIND_CLUSTER exists"
  else
    log "creating kind cluster $KIND_CLUSTER"
    kind create cluster --name "$KIND_CLUSTER" --wait 120s
  fi
}

step_tekton() {
  need kubectl "https://kubernetes.io/docs/tasks/tools/"
  log "installing Tekton Pipelines $TEKTON_VERSION"
  kubectl apply -f "$TEKTON_RELEASE" >/dev/null
  kubectl -n tekton-pipelines rollout status deployment/tekton-pipelines-controller --timeout=300s
  kubectl -n tekton-pipelines rollout status deployment/tekton-pipelines-webhook --timeout=300s
  # The bundles resolver runs here; a PipelineRun from an OCI bundle needs it.
  kubectl -n tekton-pipelines-resolvers rollout status \
    deployment/tekton-pipelines-remote-resolvers --timeout=300s
}

step_image() {
  need docker "a container engine with a running daemon"
  need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  log "building $IMG"
  docker build --tag "$IMG" "$REPO"
  log "loading $IMG into kind cluster $KIND_CLUSTER"
  kind load docker-image "$IMG" --name "$KIND_CLUSTER"
}

step_deploy() {
  need kubectl "https://kubernetes.io/docs/tasks/tools/"
  [[ "${IMG##*/}" == *:* ]] || { log "IMG must carry a tag (name:tag), got $IMG"; exit 1; }
  local overlay
  overlay="$(mktemp -d)"
  trap 'rm -rf "$overlay"' RETURN
  # A throw-away overlay sets the image without editing the checkout.
  cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $REPO/config/default
images:
  - name: workflowexecution-controller
    newName: ${IMG%:*}
    newTag: ${IMG##*:}
EOF
  log "deploying config/default with $IMG"
  kubectl apply -k "$overlay"
  kubectl -n kubernaut-system rollout status deployment/workflowexecution-controller --timeout=180s
}

step_bundle() {
  need tkn "https://tekton.dev/docs/cli/"
  : "${WFE_E2E_BUNDLE:?set WFE_E2E_BUNDLE to the OCI reference to push the test workflow to}"
  log "pushing test/e2e/kind/bundle/pipeline.yaml to $WFE_E2E_BUNDLE"
  tkn bundle push "$WFE_E2E_BUNDLE" -f "$REPO/test/e2e/kind/bundle/pipeline.yaml"
}

steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(cluster tekton image deploy)
for step in "${steps[@]}"; do
  case "$step" in
    cluster | tekton | image | deploy | bundle) "step_$step" ;;
    *) log "unknown step $step (cluster, tekton, image, deploy, bundle)"; exit 2 ;;
  esac
done
