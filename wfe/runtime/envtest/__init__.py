"""A real local control plane (etcd + kube-apiserver) for tests, benchmarks and demos (controller-runtime's envtest)."""

from wfe.runtime.envtest.control_plane import ControlPlane, ControlPlaneError, User
from wfe.runtime.envtest.crds import install_crds

__all__ = ["ControlPlane", "ControlPlaneError", "User", "install_crds"]
