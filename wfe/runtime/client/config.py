"""Loads cluster credentials: an explicit kubeconfig, $KUBECONFIG/~/.kube/config, or in-cluster."""

from __future__ import annotations

import os

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config


class ConfigError(Exception):
    """No usable cluster configuration was found."""


def load_configuration(
    kubeconfig: str | None = None, context: str | None = None
) -> k8s_client.Configuration:
    """Like controller-runtime's ``ctrl.GetConfig``: flag, then $KUBECONFIG, then in-cluster, then home.

    Token refresh (exec plugins, projected service-account tokens) is handled by the official
    client's ``refresh_api_key_hook``, which the transport consults on every request.
    """
    configuration = k8s_client.Configuration()
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    try:
        if explicit:
            k8s_config.load_kube_config(
                config_file=explicit, context=context, client_configuration=configuration
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(context=context, client_configuration=configuration)
    except (k8s_config.ConfigException, OSError) as err:
        raise ConfigError(f"no usable Kubernetes configuration: {err}") from err
    return configuration


def has_cluster_config(kubeconfig: str | None = None) -> bool:
    """True when a kubeconfig or in-cluster environment is present (without contacting the server)."""
    if kubeconfig or os.environ.get("KUBECONFIG") or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return os.path.exists(os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION))
