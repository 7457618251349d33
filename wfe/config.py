"""Flags, each with an env var (WFE_<FLAG>) and an optional YAML file (--config); flags win (SPEC §10)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from api.workflowexecution.v1alpha1.duration import parse_go_duration


class ConfigurationError(Exception):
    """A bad flag, env var or config-file value; the message is one line for a human."""


@dataclass(frozen=True)
class Config:
    kubeconfig: str | None
    metrics_bind_address: str
    health_probe_bind_address: str
    leader_elect: bool
    leader_election_id: str
    leader_election_namespace: str | None
    execution_namespace: str
    service_account: str
    cooldown_period: float
    default_timeout: float
    max_concurrent_reconciles: int
    watch_namespace: str | None
    log_level: str
    log_format: str
    audit_sink: str
    datastorage_url: str | None
    datastorage_token_file: str | None
    audit_spool_dir: str | None
    graceful_shutdown_timeout: float
    # security (issue 11); defaults so code building a Config by hand keeps working
    metrics_secure: bool = True
    metrics_cert_path: str | None = None
    metrics_cert_name: str = "tls.crt"
    metrics_cert_key: str = "tls.key"
    datastorage_insecure: bool = False
    audit_redact_parameters: bool = False


# name, default, kind, help. Kind: str | bool | int | duration | choice:<a,b>.
_FLAGS: tuple[tuple[str, Any, str, str], ...] = (
    (
        "kubeconfig",
        None,
        "str",
        "path to a kubeconfig (default: in-cluster, then $KUBECONFIG, ~/.kube/config)",
    ),
    (
        "metrics-bind-address",
        ":9090",
        "str",
        "address the /metrics endpoint binds to ('0' disables)",
    ),
    ("health-probe-bind-address", ":8081", "str", "address /healthz and /readyz bind to"),
    ("leader-elect", False, "bool", "enable leader election (run more than one replica safely)"),
    (
        "leader-election-id",
        "workflowexecution.kubernaut.ai",
        "str",
        "name of the leader-election Lease",
    ),
    (
        "leader-election-namespace",
        None,
        "str",
        "namespace of the Lease (default: the pod's namespace)",
    ),
    (
        "execution-namespace",
        "kubernaut-workflows",
        "str",
        "namespace where PipelineRuns are created",
    ),
    (
        "service-account",
        "kubernaut-workflow-runner",
        "str",
        "default ServiceAccount of PipelineRuns",
    ),
    ("cooldown-period", "5m", "duration", "same workflow on the same target is refused this long"),
    ("default-timeout", "30m", "duration", "PipelineRun timeout when the spec sets none"),
    ("max-concurrent-reconciles", 4, "int", "number of reconcile workers"),
    (
        "watch-namespace",
        None,
        "str",
        "only watch WorkflowExecutions in this namespace (default: all)",
    ),
    ("log-level", "info", "choice:debug,info,warning,error", "log level"),
    ("log-format", "json", "choice:json,console", "log renderer"),
    ("audit-sink", "log", "choice:log,datastorage,none", "where audit events go"),
    ("datastorage-url", None, "str", "Kubernaut Data Storage base URL (audit-sink=datastorage)"),
    ("datastorage-token-file", None, "str", "file holding the bearer token for Data Storage"),
    (
        "audit-spool-dir",
        None,
        "str",
        "durable spool directory for audit events (default: in memory)",
    ),
    ("graceful-shutdown-timeout", "30s", "duration", "bound on in-flight work at shutdown"),
    (
        "metrics-secure",
        True,
        "bool",
        "serve /metrics over HTTPS, only to callers the API server authenticates (TokenReview) and "
        "authorizes (SubjectAccessReview); false: plain HTTP for anyone",
    ),
    (
        "metrics-cert-path",
        None,
        "str",
        "directory holding the metrics serving certificate (default: a self-signed one)",
    ),
    ("metrics-cert-name", "tls.crt", "str", "certificate file name in --metrics-cert-path"),
    ("metrics-cert-key", "tls.key", "str", "private key file name in --metrics-cert-path"),
    (
        "datastorage-insecure",
        False,
        "bool",
        "allow a plain http:// --datastorage-url (audit events and token travel in clear)",
    ),
    (
        "audit-redact-parameters",
        False,
        "bool",
        "replace parameter values and the rationale with [REDACTED] in audit events",
    ),
)

# The pod's own API-server token: never a credential for anything else (issue 11).
API_SERVER_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Flags > env vars > config file > defaults. Raises ConfigurationError on bad values."""
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(
        prog="wfe-controller",
        description="Kubernaut WorkflowExecution controller",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--config", help="YAML file with any of the flags below (keys as flag names)"
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    for name, default, kind, help_text in _FLAGS:
        shown = f"{help_text} (default {default}; env WFE_{_env(name)})"
        if kind == "bool":
            parser.add_argument(f"--{name}", nargs="?", const="true", metavar="BOOL", help=shown)
        else:
            parser.add_argument(f"--{name}", metavar=kind.split(":")[0].upper(), help=shown)
    try:
        flags = vars(parser.parse_args(argv))
    except SystemExit as err:
        if err.code == 0:
            raise
        raise ConfigurationError("invalid command line (see --help)") from None
    file_values = _load_file(flags.get("config") or environ.get("WFE_CONFIG"))
    values: dict[str, Any] = {}
    for name, default, kind, _ in _FLAGS:
        key = name.replace("-", "_")
        raw = flags.get(key)
        source = f"--{name}"
        if raw is None and f"WFE_{_env(name)}" in environ:
            raw, source = environ[f"WFE_{_env(name)}"], f"WFE_{_env(name)}"
        if raw is None and name in file_values:
            raw, source = file_values[name], f"{name} in the config file"
        if raw is None:
            raw, source = default, f"default of --{name}"
        values[key] = _convert(raw, kind, source)
    config = Config(**values)
    _check(config)
    _check_security(config)
    return config


def wants_version(argv: Sequence[str] | None) -> bool:
    return "--version" in (argv or [])


def _env(name: str) -> str:
    return name.upper().replace("-", "_")


def _load_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigurationError(f"cannot read config file {path}: {err}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"config file {path} must be a mapping of flag names to values")
    known = {name for name, *_ in _FLAGS}
    unknown = sorted(set(loaded) - known)
    if unknown:
        raise ConfigurationError(f"config file {path} has unknown keys: {', '.join(unknown)}")
    return loaded


def _convert(raw: Any, kind: str, source: str) -> Any:
    if raw is None:
        return None
    text = str(raw).strip()
    if kind == "str":
        return text or None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigurationError(f"{source}: expected true or false, got {text!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(f"{source}: expected a whole number, got {text!r}") from None
    if kind == "duration":
        try:
            return parse_go_duration(text)
        except ValueError:
            raise ConfigurationError(
                f"{source}: expected a Go duration such as 30s, 5m or 1h30m, got {text!r}"
            ) from None
    if kind.startswith("choice:"):
        choices = kind.split(":", 1)[1].split(",")
        if text.lower() not in choices:
            raise ConfigurationError(
                f"{source}: expected one of {', '.join(choices)}, got {text!r}"
            )
        return text.lower()
    raise AssertionError(kind)


def _check(config: Config) -> None:
    if config.max_concurrent_reconciles < 1:
        raise ConfigurationError("--max-concurrent-reconciles must be at least 1")
    if config.cooldown_period < 0:
        raise ConfigurationError("--cooldown-period must not be negative")
    if config.default_timeout <= 0:
        raise ConfigurationError("--default-timeout must be positive")
    if config.audit_sink == "datastorage" and not config.datastorage_url:
        raise ConfigurationError("--audit-sink=datastorage needs --datastorage-url")
    for flag, address in (
        ("--metrics-bind-address", config.metrics_bind_address),
        ("--health-probe-bind-address", config.health_probe_bind_address),
    ):
        if address not in (None, "0") and ":" not in address:
            raise ConfigurationError(f"{flag}: expected host:port or :port, got {address!r}")


def _check_security(config: Config) -> None:
    """No credential leaks: Data Storage gets its own token, over TLS unless told otherwise."""
    url = config.datastorage_url
    if url is not None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in ("http", "https"):
            raise ConfigurationError(f"--datastorage-url: expected an https:// URL, got {url!r}")
        if scheme == "http" and not config.datastorage_insecure:
            raise ConfigurationError(
                f"--datastorage-url: {url!r} is plain http:// (audit events and the bearer token "
                "would travel in clear); use https://, or set --datastorage-insecure"
            )
    token_file = config.datastorage_token_file
    if token_file is not None and Path(token_file) == Path(API_SERVER_TOKEN_FILE):
        raise ConfigurationError(
            f"--datastorage-token-file: {token_file} is the pod's API-server token and must not "
            "leave the cluster's API; mount a projected ServiceAccount token with Data Storage's "
            "audience (config/manager does) and point the flag at it"
        )
