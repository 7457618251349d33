"""Loads cluster credentials: an explicit kubeconfig, $KUBECONFIG/~/.kube/config, or in-cluster.

The common cases are read here, without importing the official ``kubernetes`` package (its
``kubernetes.client`` imports some 250 modules and thousands of generated model classes: about
8 MiB of resident memory and 0.7 s of start-up the controller has no use for): a kubeconfig whose
user has a token, a token file or a client certificate, and the in-cluster service account, whose
projected token rotates (re-read every minute, as client-go does). Anything else a kubeconfig can
hold (exec credential plugins, auth providers, basic auth, several files merged through
$KUBECONFIG) goes to the official loader, imported only then; both produce an object with the
attributes the REST client reads (:class:`ClusterConfig` or ``kubernetes.client.Configuration``).
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KUBE_CONFIG_DEFAULT_LOCATION = "~/.kube/config"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# client-go re-reads a projected service-account token file this often (the kubelet rotates it
# well before it expires)
TOKEN_FILE_REFRESH_SECONDS = 60.0


class ConfigError(Exception):
    """No usable cluster configuration was found."""


class ClusterConfig:
    """Where the API server is and how to authenticate to it (the REST client's view).

    The attribute names are ``kubernetes.client.Configuration``'s, so either can configure the
    REST client. ``refresh_api_key_hook``, when set, is called before the token is read: it may
    replace ``api_key`` (a rotating token file).
    """

    def __init__(self, host: str):
        self.host = host
        self.ssl_ca_cert: str | None = None  # a CA bundle file
        self.ca_cert_data: str | None = None  # a PEM CA bundle
        self.cert_file: str | None = None
        self.key_file: str | None = None
        self.verify_ssl = True
        self.assert_hostname: str | None = None
        self.tls_server_name: str | None = None
        self.proxy: str | None = None
        self.no_proxy: str | None = None
        self.proxy_headers: dict[str, str] | None = None
        self.connection_pool_maxsize: int | None = None
        self.api_key: dict[str, str] = {}
        self.api_key_prefix: dict[str, str] = {}
        self.refresh_api_key_hook: Callable[[ClusterConfig], None] | None = None

    def auth_settings(self) -> dict[str, dict[str, Any]]:
        """The ``Authorization`` header to send, in ``kubernetes.client.Configuration``'s shape."""
        if self.refresh_api_key_hook is not None:
            self.refresh_api_key_hook(self)
        token = self.api_key.get("BearerToken", self.api_key.get("authorization"))
        if not token:
            return {}
        prefix = self.api_key_prefix.get("BearerToken", self.api_key_prefix.get("authorization"))
        value = f"{prefix} {token}" if prefix else token
        return {
            "BearerToken": {
                "type": "api_key",
                "in": "header",
                "key": "authorization",
                "value": value,
            }
        }

    def __repr__(self) -> str:  # never the token
        return f"<ClusterConfig {self.host}>"


Configuration = Any
"""A :class:`ClusterConfig` or a ``kubernetes.client.Configuration`` (exec plugins and the like)."""


def load_configuration(kubeconfig: str | None = None, context: str | None = None) -> Configuration:
    """Like controller-runtime's ``ctrl.GetConfig``: flag, then $KUBECONFIG, then in-cluster, then home."""
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    try:
        if explicit:
            return _from_kubeconfig(explicit, context)
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return in_cluster_configuration()
        return _from_kubeconfig(os.path.expanduser(KUBE_CONFIG_DEFAULT_LOCATION), context)
    except ConfigError as err:
        raise ConfigError(f"no usable Kubernetes configuration: {err}") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"no usable Kubernetes configuration: {err}") from err


def has_cluster_config(kubeconfig: str | None = None) -> bool:
    """True when a kubeconfig or in-cluster environment is present (without contacting the server)."""
    if kubeconfig or os.environ.get("KUBECONFIG") or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return os.path.exists(os.path.expanduser(KUBE_CONFIG_DEFAULT_LOCATION))


# --- in-cluster ----------------------------------------------------------------------------------


def in_cluster_configuration(service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
    """The pod's service account: its CA, and its projected token re-read every minute."""
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    if not host or not port:
        raise ConfigError("in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    ca = service_account_dir / "ca.crt"
    if not ca.is_file():
        raise ConfigError(f"in-cluster: no service-account CA at {ca}")
    config = ClusterConfig(f"https://{host}:{port}")
    config.ssl_ca_cert = str(ca)
    _use_token_file(config, service_account_dir / "token")
    return config


def _use_token_file(config: ClusterConfig, path: Path) -> None:
    """Authenticates with the token in ``path``, re-read every minute (rotated tokens)."""
    lock = threading.Lock()
    read_at = [0.0]

    def refresh(cfg: ClusterConfig) -> None:
        now = time.monotonic()
        if read_at[0] and now - read_at[0] < TOKEN_FILE_REFRESH_SECONDS:
            return
        with lock:
            if read_at[0] and now - read_at[0] < TOKEN_FILE_REFRESH_SECONDS:
                return
            try:
                token = path.read_text().strip()
            except OSError:
                if not read_at[0]:
                    raise
                return  # keep the token we have; the next call tries again
            if not token:
                raise ConfigError(f"the token file {path} is empty")
            cfg.api_key = {"authorization": f"Bearer {token}"}
            read_at[0] = now

    refresh(config)  # a missing or empty file is an error now, not at the first request
    config.refresh_api_key_hook = refresh


# --- kubeconfig ----------------------------------------------------------------------------------


def _from_kubeconfig(path: str, context: str | None) -> Configuration:
    if os.pathsep in path:
        return _official(path, context)  # several files merged: the official merge rules
    import yaml  # kubeconfig files only: the in-cluster process never loads it (~1 MiB)

    try:
        document = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"cannot read kubeconfig {path}: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    context_name = context or document.get("current-context")
    if not context_name:
        raise ConfigError(f"kubeconfig {path} names no current-context")
    ctx = _named(document, "contexts", "context", context_name, path)
    cluster = _named(document, "clusters", "cluster", ctx.get("cluster"), path)
    user = _named(document, "users", "user", ctx.get("user"), path) if ctx.get("user") else {}
    if not _handled_here(user):
        return _official(path, context)
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"kubeconfig {path}: cluster {ctx.get('cluster')!r} has no server")
    base = Path(path).resolve().parent
    config = ClusterConfig(str(server).rstrip("/"))
    config.verify_ssl = not cluster.get("insecure-skip-tls-verify", False)
    config.tls_server_name = cluster.get("tls-server-name") or None
    if cluster.get("certificate-authority-data"):
        config.ca_cert_data = _decoded(cluster["certificate-authority-data"], path).decode()
    elif cluster.get("certificate-authority"):
        config.ssl_ca_cert = _resolve(base, cluster["certificate-authority"])
    config.cert_file = _file_of(user, "client-certificate", base, path)
    config.key_file = _file_of(user, "client-key", base, path)
    if user.get("token"):
        config.api_key = {"authorization": f"Bearer {user['token']}"}
    elif user.get("tokenFile"):
        _use_token_file(config, Path(_resolve(base, user["tokenFile"])))
    config.proxy = cluster.get("proxy-url") or None
    if config.proxy is None:
        # as client-go's http.ProxyFromEnvironment (and the official client): HTTPS_PROXY, NO_PROXY
        proxies = urllib.request.getproxies()
        config.proxy = proxies.get(urlsplit(config.host).scheme) or None
        config.no_proxy = proxies.get("no")
    return config


def _handled_here(user: dict[str, Any]) -> bool:
    """A user this loader can authenticate: token, token file, client certificate, or none."""
    return not any(user.get(key) for key in ("exec", "auth-provider", "username", "password"))


def _named(
    document: dict[str, Any], section: str, key: str, name: Any, path: str
) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(key) or {}
            if not isinstance(value, dict):
                break
            return value
    raise ConfigError(f"kubeconfig {path}: no {key} named {name!r}")


def _resolve(base: Path, file: str) -> str:
    return str(base / os.path.expanduser(file))


def _decoded(data: str, path: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ConfigError(f"kubeconfig {path}: invalid base64 data: {err}") from err


def _file_of(user: dict[str, Any], key: str, base: Path, path: str) -> str | None:
    """A file holding ``key``: the one named, or a private temporary copy of ``key``-data."""
    if user.get(f"{key}-data"):
        return _private_file(_decoded(user[f"{key}-data"], path))
    if user.get(key):
        return _resolve(base, user[key])
    return None


_temp_dir: list[str] = []
_temp_lock = threading.Lock()


def _private_file(content: bytes) -> str:
    """Writes ``content`` (a client key, say) to a file only this user can read, removed at exit."""
    with _temp_lock:
        if not _temp_dir:
            _temp_dir.append(tempfile.mkdtemp(prefix="wfe-kubeconfig-"))  # mode 0700
            atexit.register(shutil.rmtree, _temp_dir[0], True)
        fd, name = tempfile.mkstemp(dir=_temp_dir[0])  # mode 0600
    with contextlib.closing(os.fdopen(fd, "wb")) as file:
        file.write(content)
    return name


def _official(path: str, context: str | None) -> Any:
    """The official loader (exec plugins, auth providers, merged files): imported only here."""
    import yaml
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=path, context=context, client_configuration=configuration
        )
    except (k8s_config.ConfigException, OSError, yaml.YAMLError) as err:
        raise ConfigError(str(err)) from err
    return configuration
