"""Cluster credentials: kubeconfigs and the in-cluster service account, read without the official
client; what only the official loader knows (exec plugins) still goes to it."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfe.runtime.client import ConfigError, load_configuration
from wfe.runtime.client.config import ClusterConfig, in_cluster_configuration


def write_kubeconfig(
    path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None
) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "contexts": [
            {"name": "main", "context": {"cluster": "c", "user": "u"}},
            {"name": "other", "context": {"cluster": "c2", "user": "u"}},
        ],
        "clusters": [
            {"name": "c", "cluster": {"server": "https://api.example:6443/", **(cluster or {})}},
            {"name": "c2", "cluster": {"server": "https://other.example:6443"}},
        ],
        "users": [{"name": "u", "user": user}],
    }
    path.write_text(yaml.safe_dump(document))
    return str(path)


def bearer(config: Any) -> str:
    return str(config.auth_settings()["BearerToken"]["value"])


def test_a_token_kubeconfig_gives_its_server_ca_and_bearer_token(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("CA")
    path = write_kubeconfig(
        tmp_path / "kc", {"token": "secret-token"}, {"certificate-authority": "ca.crt"}
    )
    config = load_configuration(path)
    assert isinstance(config, ClusterConfig)
    assert config.host == "https://api.example:6443"
    assert config.ssl_ca_cert == str(tmp_path / "ca.crt")  # relative to the kubeconfig
    assert bearer(config) == "Bearer secret-token"
    assert "secret-token" not in repr(config)


def test_the_context_flag_picks_another_cluster(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc", {"token": "t"})
    assert load_configuration(path, context="other").host == "https://other.example:6443"
    with pytest.raises(ConfigError, match=r"no usable Kubernetes configuration.*nope"):
        load_configuration(path, context="nope")


def test_embedded_certificates_go_to_files_only_the_user_can_read(tmp_path: Path) -> None:
    data = {k: base64.b64encode(k.encode()).decode() for k in ("cert", "key", "ca")}
    path = write_kubeconfig(
        tmp_path / "kc",
        {"client-certificate-data": data["cert"], "client-key-data": data["key"]},
        {"certificate-authority-data": data["ca"], "insecure-skip-tls-verify": True},
    )
    config = load_configuration(path)
    assert config.ca_cert_data == "ca"
    assert config.verify_ssl is False
    assert Path(config.key_file).read_bytes() == b"key"
    assert Path(config.cert_file).read_bytes() == b"cert"
    assert stat.S_IMODE(os.stat(config.key_file).st_mode) == 0o600
    assert config.auth_settings() == {}


def test_a_token_file_is_read_again_once_it_may_have_rotated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = load_configuration(write_kubeconfig(tmp_path / "kc", {"tokenFile": "token"}))
    token.write_text("second\n")
    assert bearer(config) == "Bearer first"  # within the minute: the token read at load
    monkeypatch.setattr("wfe.runtime.client.config.TOKEN_FILE_REFRESH_SECONDS", 0.0)
    assert bearer(config) == "Bearer second"


def test_in_cluster_reads_the_service_account_and_its_rotating_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.crt").write_text("CA")
    (tmp_path / "token").write_text("pod-token")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    config = in_cluster_configuration(tmp_path)
    assert config.host == "https://[fd00::1]:443"
    assert config.ssl_ca_cert == str(tmp_path / "ca.crt")
    assert bearer(config) == "Bearer pod-token"
    (tmp_path / "token").write_text("rotated")
    monkeypatch.setattr("wfe.runtime.client.config.TOKEN_FILE_REFRESH_SECONDS", 0.0)
    assert bearer(config) == "Bearer rotated"


def test_in_cluster_without_a_token_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.crt").write_text("CA")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(OSError):
        in_cluster_configuration(tmp_path)


def test_an_exec_plugin_user_goes_to_the_official_loader(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kc",
        {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true"}},
    )
    from kubernetes import client as k8s_client

    assert isinstance(load_configuration(path), k8s_client.Configuration)


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no usable Kubernetes configuration: cannot read"):
        load_configuration(str(tmp_path / "nowhere"))


def test_a_kubeconfig_that_is_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [unclosed\n")
    with pytest.raises(ConfigError, match=r"no usable Kubernetes configuration: .* not valid YAML"):
        load_configuration(str(broken))


def test_merged_kubeconfigs_one_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    broken, fine = tmp_path / "broken", tmp_path / "fine"
    broken.write_text("clusters: [unclosed\n")
    fine.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(ConfigError, match="no usable Kubernetes configuration"):
        load_configuration(f"{broken}{os.pathsep}{fine}")


def test_the_controller_never_imports_the_official_client() -> None:
    """Its generated models cost ~8 MiB of resident memory and 0.7 s of start-up for nothing."""
    code = "import sys, wfe.cmd; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
