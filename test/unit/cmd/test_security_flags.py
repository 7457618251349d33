"""Security flags (issue 11): authenticated HTTPS metrics by default, no API-server token and no
plain http:// towards Data Storage unless asked for, audit parameter redaction."""

from __future__ import annotations

import pytest

from wfe.audit.factory import SERVICE_ACCOUNT_TOKEN_FILE
from wfe.cmd import datastorage_token_file, metrics_secure_serving
from wfe.config import ConfigurationError, parse
from wfe.runtime.client import Client
from wfe.runtime.metrics.auth import DelegatingAuthFilter


def test_metrics_are_secure_by_default_and_plain_only_when_asked() -> None:
    defaults = parse([], environ={})
    assert defaults.metrics_secure is True
    assert defaults.audit_redact_parameters is False
    assert defaults.datastorage_insecure is False
    assert parse(["--metrics-secure=false"], environ={}).metrics_secure is False


def test_secure_metrics_serve_a_self_signed_certificate_unless_one_is_mounted() -> None:
    client = Client.__new__(Client)  # never called: the filter only keeps it
    secure = metrics_secure_serving(parse([], environ={}), client)
    assert secure is not None and secure.certificate is None
    assert isinstance(secure.filter, DelegatingAuthFilter)
    mounted = metrics_secure_serving(
        parse(["--metrics-cert-path=/certs", "--metrics-cert-name=cert.pem"], environ={}), client
    )
    assert mounted is not None and mounted.certificate is not None
    assert str(mounted.certificate.cert) == "/certs/cert.pem"
    assert str(mounted.certificate.key) == "/certs/tls.key"
    assert metrics_secure_serving(parse(["--metrics-secure=false"], environ={}), client) is None


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (
            ["--audit-sink=datastorage", "--datastorage-url=http://ds:8080"],
            "plain http://",
        ),
        (["--datastorage-url=ftp://ds"], "expected an http:// or https:// URL"),
        (
            [
                "--audit-sink=datastorage",
                "--datastorage-url=https://ds",
                f"--datastorage-token-file={SERVICE_ACCOUNT_TOKEN_FILE}",
            ],
            "is the pod's API-server token",
        ),
    ],
)
def test_credential_leaks_are_refused_at_start(argv: list[str], complaint: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse(argv, environ={})
    assert complaint in str(error.value)
    assert "\n" not in str(error.value)


def test_plain_http_to_data_storage_needs_the_insecure_flag() -> None:
    config = parse(
        ["--audit-sink=datastorage", "--datastorage-url=http://ds:8080", "--datastorage-insecure"],
        environ={},
    )
    assert config.datastorage_insecure is True


def test_the_api_server_token_is_never_the_data_storage_token() -> None:
    config = parse(["--audit-sink=datastorage", "--datastorage-url=https://ds"], environ={})
    assert datastorage_token_file(config) is None
    with_file = parse(
        [
            "--audit-sink=datastorage",
            "--datastorage-url=https://ds",
            "--datastorage-token-file=/var/run/secrets/kubernaut.ai/datastorage/token",
        ],
        environ={},
    )
    assert datastorage_token_file(with_file) == "/var/run/secrets/kubernaut.ai/datastorage/token"
