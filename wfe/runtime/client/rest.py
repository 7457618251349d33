"""The one shared API client: raw JSON dicts over the official client's transport and credentials.

It keeps the official ``kubernetes`` package for what it is good at (kubeconfig/in-cluster loading,
TLS, token refresh hooks, proxies) and skips the slow generated-model round trip: requests and answers
are plain ``dict`` parsed with ``json``. Every call has a socket timeout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.rest import RESTClientObject
from urllib3.exceptions import HTTPError

from wfe.runtime.client.config import load_configuration
from wfe.runtime.client.errors import ApiConnectionError, ApiError, is_not_found
from wfe.runtime.client.resource import Resource
from wfe.runtime.client.watch import WatchStream

Object = dict[str, Any]

_PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}

DEFAULT_TIMEOUT_SECONDS = 30.0
USER_AGENT = "workflowexecution-controller/python"


class Client:
    """Thread-safe REST client (the connection pool is shared by all threads)."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        user_agent: str = USER_AGENT,
    ):
        if (
            configuration.connection_pool_maxsize is None
            or configuration.connection_pool_maxsize < 16
        ):
            configuration.connection_pool_maxsize = 16
        self.configuration = configuration
        self.timeout = timeout
        self._host = configuration.host.rstrip("/")
        self._pool: urllib3.PoolManager = RESTClientObject(configuration).pool_manager
        self._user_agent = user_agent

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, context: str | None = None) -> Client:
        return cls(load_configuration(kubeconfig, context))

    @property
    def host(self) -> str:
        return self._host

    # --- generic request -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Object:
        response = self._send(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            timeout=urllib3.Timeout(total=timeout or self.timeout),
            stream=False,
        )
        try:
            data = response.data
        finally:
            response.release_conn()
        if not data:
            return {}
        parsed = json.loads(data)
        return parsed if isinstance(parsed, dict) else {"items": parsed}

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str,
        timeout: urllib3.Timeout,
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        url = self._host + path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urlencode(params)
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        settings: dict[str, Any] = dict(self.configuration.auth_settings())
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        encoded = None
        if body is not None:
            headers["Content-Type"] = content_type
            encoded = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._pool.request(
                method,
                url,
                body=encoded,
                headers=headers,
                timeout=timeout,
                preload_content=False,
                retries=False,
            )
        except (HTTPError, OSError) as err:
            raise ApiConnectionError(f"{method} {path}: {err}") from err
        if not 200 <= response.status < 300:
            try:
                data = response.data
            except (HTTPError, OSError):
                data = b""
            finally:
                response.release_conn()
            raise ApiError.from_response(response.status, data)
        if not stream:
            return response
        return response

    # --- typed verbs -----------------------------------------------------------------------------

    def get(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Object:
        return self.request("GET", resource.path(namespace, name, subresource))

    def get_or_none(
        self, resource: Resource, name: str, namespace: str | None = None
    ) -> Object | None:
        try:
            return self.get(resource, name, namespace)
        except ApiError as err:
            if is_not_found(err):
                return None
            raise

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        timeout: float | None = None,
    ) -> Object:
        query = {
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "limit": limit,
            "continue": continue_token,
            "resourceVersion": resource_version,
        }
        return self.request("GET", resource.path(namespace), query=query, timeout=timeout)

    def create(self, resource: Resource, obj: Object, namespace: str | None = None) -> Object:
        ns = namespace or obj.get("metadata", {}).get("namespace")
        return self.request("POST", resource.path(ns), body=obj)

    def update(self, resource: Resource, obj: Object, subresource: str | None = None) -> Object:
        """PUT with the object's resourceVersion: a stale one answers 409 Conflict."""
        meta = obj.get("metadata", {})
        path = resource.path(meta.get("namespace"), meta["name"], subresource)
        return self.request("PUT", path, body=obj)

    def update_status(self, resource: Resource, obj: Object) -> Object:
        return self.update(resource, obj, subresource="status")

    def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Object:
        return self.request(
            "PATCH",
            resource.path(namespace, name, subresource),
            body=patch,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
        )

    def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        propagation_policy: str | None = "Background",
    ) -> Object:
        """DELETE, optionally only if the object still has ``uid`` (a precondition: 409 otherwise)."""
        options: Object = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if uid:
            options["preconditions"] = {"uid": uid}
        return self.request("DELETE", resource.path(namespace, name), body=options)

    def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        inactivity_timeout: float = 70.0,
    ) -> WatchStream:
        """Opens a watch; the socket read timeout is the inactivity deadline."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
        }
        response = self._send(
            "GET",
            resource.path(namespace),
            query=query,
            body=None,
            content_type="application/json",
            timeout=urllib3.Timeout(connect=self.timeout, read=inactivity_timeout),
            stream=True,
        )
        return WatchStream(response)

    def is_served(self, resource: Resource) -> bool:
        """Discovery: does the API server serve ``resource`` at its group/version?"""
        try:
            discovery = self.request("GET", resource.group_version_path)
        except ApiError as err:
            if is_not_found(err):
                return False
            raise
        return any(r.get("name") == resource.plural for r in discovery.get("resources", []))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
