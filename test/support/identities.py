"""Identities the integration tier authenticates as (static tokens of the local API server)."""

from wfe.runtime.envtest import User

# The controller's identity: a service account, so config/rbac is exactly what it may do.
CONTROLLER_USER = User(
    "system:serviceaccount:kubernaut-system:workflowexecution-controller",
    ("system:serviceaccounts", "system:serviceaccounts:kubernaut-system", "system:authenticated"),
)
