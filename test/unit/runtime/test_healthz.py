"""Health and readiness answers in controller-runtime's format, and the probe server routing them."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from wfe.runtime.healthz import CheckResponse, HealthChecks, HealthProbeServer


def failing() -> str:
    return "informers not synced"


def raising() -> str | None:
    raise RuntimeError("api server unreachable")


@pytest.fixture
def checks() -> HealthChecks:
    checks = HealthChecks("readyz")
    checks.add("informer-sync", lambda: None)
    return checks


def test_all_passing_answers_a_terse_ok(checks: HealthChecks) -> None:
    answer = checks.respond("", "")
    assert (answer.status, answer.body) == (200, "ok")


def test_verbose_lists_every_check_sorted_and_the_verdict(checks: HealthChecks) -> None:
    answer = checks.respond("", "verbose")
    assert answer.status == 200
    assert answer.body == "[+]informer-sync ok\n[+]ping ok\nhealthz check passed\n"


def test_a_failing_check_answers_500_verbosely_without_its_reason(checks: HealthChecks) -> None:
    checks.add("api", failing)
    answer = checks.respond("", "")
    assert answer.status == 500
    assert answer.body == (
        "[-]api failed: reason withheld\n[+]informer-sync ok\n[+]ping ok\nhealthz check failed\n"
    )
    assert "informers not synced" not in answer.body


def test_a_check_that_raises_counts_as_failed(checks: HealthChecks) -> None:
    checks.add("api", raising)
    assert checks.respond("", "").status == 500


def test_exclude_skips_a_failing_check_and_warns_about_unknown_names(checks: HealthChecks) -> None:
    checks.add("api", failing)
    answer = checks.respond("", "exclude=api&exclude=nope&verbose")
    assert answer.status == 200
    assert answer.body == (
        "[+]api excluded: ok\n[+]informer-sync ok\n[+]ping ok\n"
        'warn: some health checks cannot be excluded: no matches for "nope"\n'
        "healthz check passed\n"
    )


def test_sub_path_runs_one_check_and_shows_its_reason(checks: HealthChecks) -> None:
    checks.add("api", failing)
    assert checks.respond("informer-sync", "") == CheckResponse(200, "ok")
    assert checks.respond("informer-sync/", "") == CheckResponse(200, "ok")
    assert checks.respond("api", "") == CheckResponse(
        500, "internal server error: informers not synced\n"
    )


def test_unknown_sub_path_is_not_found(checks: HealthChecks) -> None:
    assert checks.respond("nope", "").status == 404


def test_check_names_are_unique(checks: HealthChecks) -> None:
    with pytest.raises(ValueError, match="already"):
        checks.add("ping", lambda: None)


@pytest.fixture
def probe_server() -> Iterator[HealthProbeServer]:
    server = HealthProbeServer("127.0.0.1:0")
    server.add_readyz_check("informer-sync", failing)
    server.start()
    yield server
    server.stop()


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_probe_server_routes_healthz_and_readyz(probe_server: HealthProbeServer) -> None:
    port = probe_server.port
    assert fetch(port, "/healthz") == (200, "ok")
    assert fetch(port, "/healthz/ping") == (200, "ok")
    status, body = fetch(port, "/readyz")
    assert status == 500
    assert body.splitlines()[0] == "[-]informer-sync failed: reason withheld"
    assert fetch(port, "/readyz?exclude=informer-sync") == (200, "ok")
    assert fetch(port, "/readyz/informer-sync")[0] == 500
    assert fetch(port, "/livez")[0] == 404
