"""The local cluster: the envtest control plane plus kube-scheduler, kube-controller-manager, kwok
(simulated pods on one fake node), a real Tekton Pipelines controller and its resolvers, and a local
OCI registry for Tekton bundles, all built from Go modules (hack/build-cluster.sh)."""

from support.cluster.binaries import cluster_binaries
from support.cluster.stack import ClusterError, LocalCluster

__all__ = ["ClusterError", "LocalCluster", "cluster_binaries"]
