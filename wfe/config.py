"""Flags, each with an env var (WFE_<FLAG>) and an optional YAML file (--config); flags win (SPEC §10)."""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

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
    max_cooldown: float
    create_retry_window: float
    kube_api_qps: float = 500.0
    kube_api_burst: int = 1000
    # security (issue 11); defaults so code building a Config by hand keeps working
    metrics_secure: bool = True
    metrics_cert_path: str | None = None
    metrics_cert_name: str = "tls.crt"
    metrics_cert_key: str = "tls.key"
    datastorage_insecure: bool = False
    audit_redact_parameters: bool = False
    # execution engines (issue 8)
    engines: str = "tekton"

    @property
    def engine_names(self) -> tuple[str, ...]:
        """--engines as a list: "tekton,job" -> ("tekton", "job")."""
        return tuple(name.strip() for name in (self.engines or "").split(",") if name.strip())


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
        "kube-api-qps",
        500.0,
        "float",
        "client-side limit on API requests per second (token bucket; 0 turns it off)",
    ),
    ("kube-api-burst", 1000, "int", "requests the client-side limit lets through at once"),
    (
        "max-cooldown",
        "1h",
        "duration",
        "cap of the cooldown, which doubles after each consecutive failure before any step ran",
    ),
    (
        "create-retry-window",
        "5m",
        "duration",
        "how long a failing PipelineRun create is retried before the workflow is Failed",
    ),
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
    (
        "engines",
        "tekton",
        "str",
        "comma-separated execution engines to serve (tekton, job); each must be installed "
        "(tekton: Tekton Pipelines); WorkflowExecutions asking for another fail UnsupportedEngine",
    ),
)

# The pod's own API-server token: never a credential for anything else (issue 11).
API_SERVER_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Flags > env vars > config file > defaults. Raises ConfigurationError on bad values."""
    environ = dict(os.environ if environ is None else environ)
    parser = _Parser(
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
    flags = vars(parser.parse_args(_attach_dash_values(argv or [])))
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is a ConfigurationError (one line, exit 2), not a usage
    dump on stderr."""

    def error(self, message: str) -> NoReturn:
        raise ConfigurationError(f"invalid command line: {message} (see --help)")


def _value_flags() -> frozenset[str]:
    return frozenset(f"--{name}" for name, _, kind, _ in _FLAGS if kind != "bool") | {"--config"}


def _attach_dash_values(argv: Sequence[str]) -> list[str]:
    """``--cooldown-period -5m`` as ``--cooldown-period=-5m``: argparse would read the value as a
    flag of its own; attached, it reaches the flag's own check ("must not be negative")."""
    value_flags = _value_flags()
    out: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if (
            token in value_flags
            and following is not None
            and following.startswith("-")
            and following.split("=", 1)[0] not in value_flags | {"--version", "--help", "-h"}
        ):
            out.append(f"{token}={following}")
            index += 2
            continue
        out.append(token)
        index += 1
    return out


def wants_version(argv: Sequence[str] | None) -> bool:
    return "--version" in (argv or [])


def _env(name: str) -> str:
    return name.upper().replace("-", "_")


def _load_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    # imported here: a config file is optional, and in a pod (in-cluster credentials, flags) no
    # other YAML is read, so the process need not carry the parser (~1 MiB, 20 modules)
    import yaml

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
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigurationError(f"{source}: expected a number, got {text!r}") from None
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


_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*"
)


def _check(config: Config) -> None:
    """Values that parse but cannot work: each error names its flag (SPEC §10)."""
    if config.max_concurrent_reconciles < 1:
        raise ConfigurationError("--max-concurrent-reconciles must be at least 1")
    if config.kube_api_qps < 0:
        raise ConfigurationError("--kube-api-qps must not be negative (0 turns the limit off)")
    if config.kube_api_burst < 1:
        raise ConfigurationError("--kube-api-burst must be at least 1")
    for flag, seconds, positive in (
        ("--cooldown-period", config.cooldown_period, False),
        ("--default-timeout", config.default_timeout, True),
        ("--graceful-shutdown-timeout", config.graceful_shutdown_timeout, False),
        ("--max-cooldown", config.max_cooldown, False),
        ("--create-retry-window", config.create_retry_window, True),
    ):
        if seconds < 0:
            raise ConfigurationError(f"{flag} must not be negative")
        if positive and seconds == 0:
            raise ConfigurationError(f"{flag} must be positive")
    if config.max_cooldown < config.cooldown_period:
        raise ConfigurationError("--max-cooldown must not be shorter than --cooldown-period")
    if config.audit_sink == "datastorage" and not config.datastorage_url:
        raise ConfigurationError("--audit-sink=datastorage needs --datastorage-url")
    for flag, address in (
        ("--metrics-bind-address", config.metrics_bind_address),
        ("--health-probe-bind-address", config.health_probe_bind_address),
    ):
        if address not in (None, "0") and not _is_bind_address(address):
            raise ConfigurationError(
                f"{flag}: expected host:port or :port (port 0-65535), got {address!r}"
            )
    if config.datastorage_url is not None:
        _check_url("--datastorage-url", config.datastorage_url)
    for flag, namespace in (
        ("--execution-namespace", config.execution_namespace),
        ("--leader-election-namespace", config.leader_election_namespace),
        ("--watch-namespace", config.watch_namespace),
    ):
        if namespace is not None and not _DNS1123_LABEL.fullmatch(namespace):
            raise ConfigurationError(
                f"{flag}: {namespace!r} is not a namespace name (DNS-1123 label: lower-case "
                "letters, digits and '-', at most 63 characters)"
            )
    if len(config.service_account) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(
        config.service_account
    ):
        raise ConfigurationError(
            f"--service-account: {config.service_account!r} is not a ServiceAccount name "
            "(DNS-1123 subdomain: lower-case letters, digits, '-' and '.')"
        )
    if config.audit_spool_dir is not None:
        _check_writable_directory("--audit-spool-dir", config.audit_spool_dir)
    _check_engines(config.engine_names)


_ENGINE_NAMES = ("tekton", "job")


def _check_engines(names: tuple[str, ...]) -> None:
    if not names:
        raise ConfigurationError("--engines: name at least one engine (tekton, job)")
    unknown = [name for name in names if name not in _ENGINE_NAMES]
    if unknown:
        raise ConfigurationError(
            f"--engines: unknown engine(s) {', '.join(unknown)}; known: {', '.join(_ENGINE_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"--engines: an engine is named twice in {','.join(names)}")


_BIND_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)?")


def _is_bind_address(address: str) -> bool:
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
        return False
    return _BIND_HOST.fullmatch(host) is not None


def _check_url(flag: str, url: str) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as err:
        raise ConfigurationError(f"{flag}: {url!r} is not a URL ({err})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{flag}: expected an http:// or https:// URL, got {url!r}")


def _check_writable_directory(flag: str, directory: str) -> None:
    """Creates the directory if needed and proves it writable with a probe file."""
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-probe-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigurationError(
            f"{flag}: {directory!r} is not a writable directory ({reason})"
        ) from None


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
