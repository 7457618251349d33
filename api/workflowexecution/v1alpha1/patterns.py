"""Regular expressions shared by the pydantic models and the generated CRD schema.

They must mean the same to pydantic (Rust `regex`) and to the API server (Go RE2): no look-around,
no back-references, no `\\w`/`\\d` shorthands (Unicode-aware in Rust, ASCII in Go).
"""

from __future__ import annotations

from typing import Final

from .duration import GO_DURATION_PATTERN

_DNS1123_LABEL: Final = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS1123_SUBDOMAIN: Final = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
# Lowercase, so `Deployment` and `deployment` cannot be two lock keys; plural and short names are
# canonicalised by the controller through discovery (SPEC §3).
_KIND: Final = r"[a-z][a-z0-9]{0,62}"

DNS1123_SUBDOMAIN_PATTERN: Final = rf"^{_DNS1123_SUBDOMAIN}$"

# `namespace/kind/name` for namespaced targets, `kind/name` for cluster-scoped ones.
TARGET_RESOURCE_PATTERN: Final = rf"^({_DNS1123_LABEL}/)?{_KIND}/{_DNS1123_SUBDOMAIN}$"
TARGET_RESOURCE_MAX_LENGTH: Final = 63 + 1 + 63 + 1 + 253

PARAMETER_NAME_PATTERN: Final = r"^[A-Z][A-Z0-9_]*$"

_DIGEST: Final = r"sha256:[a-f0-9]{64}"
CONTAINER_DIGEST_PATTERN: Final = rf"^{_DIGEST}$"

# An OCI image reference with an explicit registry: registry[:port]/repo[/more][:tag][@sha256:hex].
# The registry is `localhost`, a dotted host name, or any host with a port, as in the distribution
# reference grammar; a bare `repo:tag` (implicitly Docker Hub) is refused so the source is explicit.
_DOMAIN_COMPONENT: Final = r"[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?"
_DOMAIN: Final = (
    rf"((localhost|{_DOMAIN_COMPONENT}(\.{_DOMAIN_COMPONENT})+)(:[0-9]+)?"
    rf"|{_DOMAIN_COMPONENT}:[0-9]+)"
)
_PATH_COMPONENT: Final = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
_TAG: Final = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
OCI_REFERENCE_PATTERN: Final = rf"^{_DOMAIN}(/{_PATH_COMPONENT})+(:{_TAG})?(@{_DIGEST})?$"

# metav1.Condition's own rules, so the CRD says what the API server's built-in types say.
CONDITION_TYPE_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"

__all__ = [
    "CONDITION_REASON_PATTERN",
    "CONDITION_TYPE_PATTERN",
    "CONTAINER_DIGEST_PATTERN",
    "DNS1123_SUBDOMAIN_PATTERN",
    "GO_DURATION_PATTERN",
    "OCI_REFERENCE_PATTERN",
    "PARAMETER_NAME_PATTERN",
    "TARGET_RESOURCE_MAX_LENGTH",
    "TARGET_RESOURCE_PATTERN",
]

# A resource.Quantity as a string (Kubernetes' own pattern): "100m", "64Mi", "1.5", "2e3".
_QUANTITY_NUMBER: Final = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY_PATTERN: Final = (
    rf"^(\+|-)?{_QUANTITY_NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_QUANTITY_NUMBER}))?$"
)
# A container resource name: "cpu", "memory", "ephemeral-storage", or an extended "vendor/name".
RESOURCE_NAME_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$"
)
