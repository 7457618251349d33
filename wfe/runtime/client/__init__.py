"""The REST client of the runtime: resources, errors, requests and watches over raw JSON dicts."""

from wfe.runtime.client.config import ConfigError, has_cluster_config, load_configuration
from wfe.runtime.client.errors import (
    ApiConnectionError,
    ApiError,
    ClientFencedError,
    is_already_exists,
    is_conflict,
    is_forbidden,
    is_gone,
    is_invalid,
    is_not_found,
    is_transient,
)
from wfe.runtime.client.resource import EVENTS, LEASES, NAMESPACES, Resource
from wfe.runtime.client.rest import Client, Object
from wfe.runtime.client.watch import WatchEvent, WatchStream

__all__ = [
    "EVENTS",
    "LEASES",
    "NAMESPACES",
    "ApiConnectionError",
    "ApiError",
    "Client",
    "ClientFencedError",
    "ConfigError",
    "Object",
    "Resource",
    "WatchEvent",
    "WatchStream",
    "has_cluster_config",
    "is_already_exists",
    "is_conflict",
    "is_forbidden",
    "is_gone",
    "is_invalid",
    "is_not_found",
    "is_transient",
    "load_configuration",
]
