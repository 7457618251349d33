"""Entry point (kubebuilder's cmd/main.go): flags, logging, start-up checks, wiring, run until SIGTERM."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Sequence

import structlog

import wfe
from wfe.audit.factory import build_recorder
from wfe.audit.recorder import DEFAULT_STOP_TIMEOUT, Recorder
from wfe.config import Config, ConfigurationError, parse, wants_version
from wfe.controller.engines import EngineRegistry
from wfe.controller.pipelinerun import ExecutionSettings
from wfe.controller.readiness import ServedApiCheck
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.controller.settings import ControllerSettings
from wfe.controller.setup import setup_controller
from wfe.controller.targets import KindNames
from wfe.runtime.allocator import limit_malloc_arenas
from wfe.runtime.cache.cache import Cache
from wfe.runtime.client import ApiError, Client, ConfigError, load_configuration
from wfe.runtime.client.transport import MIN_IDLE_CONNECTIONS
from wfe.runtime.log import configure_logging
from wfe.runtime.manager import Manager, install_signal_handlers
from wfe.runtime.metrics.auth import DelegatingAuthFilter
from wfe.runtime.metrics.server import SecureServing
from wfe.runtime.metrics.tls import CertificateFiles
from wfe.startup_retry import retry_transient

EXIT_BAD_CONFIG = 2
EXIT_STARTUP_FAILED = 1

log = structlog.get_logger("wfe.setup")


def controller_version() -> str:
    return wfe.__version__


class StartupError(Exception):
    """A start-up check failed; the message says what to do."""


def check_apis_served(client: Client, engines: EngineRegistry) -> None:
    """Fail fast (CrashLoopBackOff) when an engine configured with --engines (Tekton) or the
    WorkflowExecution CRD is not installed. An ApiError (API server unreachable, RBAC not applied
    yet) is left to the caller's retry."""
    for engine in engines:
        if client.is_served(engine.resource):
            continue
        if engine.name == "tekton":
            raise StartupError(
                "the Tekton API tekton.dev/v1 PipelineRun is not served by this cluster: "
                "Tekton Pipelines must be installed before the WorkflowExecution controller "
                "(or run without Tekton: --engines=job)"
            )
        raise StartupError(
            f"the {engine.resource.api_version} {engine.kind} API of the {engine.name!r} engine "
            "is not served by this cluster; remove it from --engines"
        )
    wfe = client.is_served(WORKFLOW_EXECUTIONS)
    if not wfe:
        raise StartupError(
            "the WorkflowExecution API (workflowexecution.kubernaut.ai/v1alpha1) is not served: "
            "install the CRD first (make install, or kubectl apply -f config/crd/bases)"
        )


def datastorage_token_file(config: Config) -> str | None:
    """The flag only: the pod's API-server token is never sent to Data Storage (issue 11). The
    Deployment mounts a projected token with Data Storage's audience for this (config/manager)."""
    if config.audit_sink == "datastorage" and not config.datastorage_token_file:
        log.warning(
            "no --datastorage-token-file: audit batches are sent without a bearer token",
            datastorage_url=config.datastorage_url,
        )
    return config.datastorage_token_file


def metrics_secure_serving(config: Config, client: Client) -> SecureServing | None:
    """kubebuilder's default: HTTPS (mounted or self-signed certificate), TokenReview and
    SubjectAccessReview for every scrape; ``--metrics-secure=false``: plain HTTP."""
    if not config.metrics_secure:
        return None
    certificate = (
        CertificateFiles(
            config.metrics_cert_path, config.metrics_cert_name, config.metrics_cert_key
        )
        if config.metrics_cert_path
        else None
    )
    return SecureServing(certificate=certificate, filter=DelegatingAuthFilter(client))


class AuditRunnable:
    """Lets the manager start the audit recorder first and stop it last.

    The flush happens in ``wait``, so the manager bounds it by what is left of the shutdown budget
    (at most 5 s; nothing after a lost lease: undelivered events stay in the spool for the next run).
    """

    def __init__(self, recorder: Recorder):
        self._recorder = recorder

    def start(self, stop_event: threading.Event) -> None:
        del stop_event  # the manager calls stop() and wait()
        self._recorder.start()

    def stop(self) -> None:
        pass  # the flush is bounded: it runs in wait()

    def wait(self, timeout: float | None = None) -> bool:
        limit = DEFAULT_STOP_TIMEOUT if timeout is None else min(timeout, DEFAULT_STOP_TIMEOUT)
        self._recorder.stop(limit)
        return True


class ApiServerCheck:
    """Readiness: the API server answers (GET /version). Cached a few seconds so probes stay cheap."""

    def __init__(self, client: Client, ttl: float = 5.0):
        self._client = client
        self._ttl = ttl
        self._checked_at = -ttl
        self._last: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= self._ttl:
                try:
                    self._client.request("GET", "/version", timeout=3.0)
                    self._last = None
                except Exception as err:
                    self._last = f"API server not reachable: {err}"
                self._checked_at = now
            return self._last


def start_up_checks(client: Client, engines: EngineRegistry | None = None) -> KindNames:
    """The checks and reads start-up needs from the API server, each retried through transient
    errors (SPEC §10); returns the kind names for lock keys (discovered once, SPEC §3).
    ``engines``: those configured (--engines), Tekton alone by default."""
    served = EngineRegistry.of(["tekton"]) if engines is None else engines
    try:
        retry_transient(lambda: check_apis_served(client, served), what="check served APIs")
        return retry_transient(lambda: KindNames.discover(client), what="discover kinds")
    except ApiError as err:
        raise StartupError(
            f"cannot reach the Kubernetes API server at {client.host}: {err}"
        ) from err


# threads besides the workers that may have a request in flight at once: the Event sender, leader
# election, the metrics endpoint's TokenReview and SubjectAccessReview
_OTHER_API_CALLERS = 4


def connections_wanted(config: Config) -> int:
    """Keep-alive connections to keep per API server: one for each thread that may be waiting on
    an answer at the same moment, so that none of them pays a TLS handshake at every burst."""
    return max(MIN_IDLE_CONNECTIONS, config.max_concurrent_reconciles + _OTHER_API_CALLERS)


def build_manager(config: Config, client: Client, kinds: KindNames | None = None) -> Manager:
    cache = Cache(client)
    engines = EngineRegistry.of(config.engine_names)
    leader_namespace = (
        config.leader_election_namespace or os.environ.get("POD_NAMESPACE") or "kubernaut-system"
    )
    manager = Manager(
        client,
        cache=cache,
        metrics_bind_address=config.metrics_bind_address,
        health_probe_bind_address=config.health_probe_bind_address,
        leader_election=config.leader_elect,
        leader_election_id=config.leader_election_id,
        leader_election_namespace=leader_namespace,
        graceful_shutdown_timeout=config.graceful_shutdown_timeout,
        metrics_secure_serving=metrics_secure_serving(config, client),
    )
    try:
        audit = build_recorder(
            config.audit_sink,
            datastorage_url=config.datastorage_url,
            token_file=datastorage_token_file(config),
            spool_dir=config.audit_spool_dir,
            allow_insecure=config.datastorage_insecure,
            redact_parameters=config.audit_redact_parameters,
        )
    except (ValueError, RuntimeError) as err:  # e.g. the spool directory is used by another process
        raise StartupError(f"audit recorder: {err}") from err
    settings = ControllerSettings(
        execution=ExecutionSettings(
            execution_namespace=config.execution_namespace,
            default_service_account=config.service_account,
            default_timeout_seconds=config.default_timeout,
        ),
        cooldown_seconds=config.cooldown_period,
        max_cooldown_seconds=config.max_cooldown,
        create_retry_window_seconds=config.create_retry_window,
    )
    controller = setup_controller(
        client,
        cache,
        manager.get_event_recorder("workflowexecution-controller"),
        audit,
        settings,
        watch_namespace=config.watch_namespace,
        max_concurrent_reconciles=config.max_concurrent_reconciles,
        kinds=kinds,
        engines=engines,
    )
    manager.add(AuditRunnable(audit), needs_leader_election=False)
    manager.add(controller)
    manager.add_healthz_check("workers", controller.healthz_check)
    manager.add_readyz_check("apiserver", ApiServerCheck(client))
    for engine in engines:  # "tekton" (as before), "job": each configured engine stays served
        manager.add_readyz_check(engine.name, ServedApiCheck(client, engine.resource))
    return manager


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if wants_version(argv):
        print(controller_version())
        return 0
    try:
        config = parse(argv)
    except ConfigurationError as err:
        print(f"wfe-controller: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    limit_malloc_arenas()  # before any thread starts (docs/decisions.md)
    configure_logging(config.log_level, config.log_format)  # type: ignore[arg-type]
    log.info(
        "starting workflowexecution-controller",
        version=controller_version(),
        host=socket.gethostname(),
        execution_namespace=config.execution_namespace,
        watch_namespace=config.watch_namespace or "(all)",
        audit_sink=config.audit_sink,
        leader_elect=config.leader_elect,
        metrics_secure=config.metrics_secure,
        engines=",".join(config.engine_names),
    )
    try:
        configuration = load_configuration(config.kubeconfig)
        configuration.connection_pool_maxsize = connections_wanted(config)
        client = Client(
            configuration,
            qps=config.kube_api_qps,
            burst=config.kube_api_burst,
        )
        kinds = start_up_checks(client, EngineRegistry.of(config.engine_names))
        manager = build_manager(config, client, kinds)
    except (ConfigError, StartupError) as err:
        log.error("start-up failed", error=str(err))
        print(f"wfe-controller: {err}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    stop = threading.Event()
    install_signal_handlers(stop)
    try:
        manager.start(stop)
    except Exception as err:
        log.exception("manager stopped with an error")
        print(f"wfe-controller: {err}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    log.info("stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
