"""The Data Storage sink against a real HTTP peer: body shape, bearer token, answer classification."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from wfe.audit import AuditDeliveryError, AuditEvent, AuditRejectedError, DataStorageSink

if TYPE_CHECKING:
    from conftest import DataStoragePeer

MakeEvent = Callable[..., AuditEvent]


def test_a_batch_is_posted_as_a_json_array_of_envelopes_with_the_bearer_token(
    datastorage: DataStoragePeer, make_event: MakeEvent, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("sa-token-1\n")
    events = [make_event(1), make_event(2)]

    DataStorageSink(datastorage.url, token_file=token_file).send_batch(events)

    [batch] = datastorage.batches
    assert batch.authorization == "Bearer sa-token-1"
    assert batch.content_type == "application/json"
    assert batch.events == [event.to_dict() for event in events]


def test_the_token_is_read_again_at_every_send_so_rotation_works(
    datastorage: DataStoragePeer, make_event: MakeEvent, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("before-rotation")
    sink = DataStorageSink(datastorage.url, token_file=token_file)

    sink.send_batch([make_event(1)])
    token_file.write_text("after-rotation")
    sink.send_batch([make_event(2)])

    assert [batch.authorization for batch in datastorage.batches] == [
        "Bearer before-rotation",
        "Bearer after-rotation",
    ]


def test_without_a_token_file_no_authorization_is_sent(
    datastorage: DataStoragePeer, make_event: MakeEvent
) -> None:
    DataStorageSink(datastorage.url).send_batch([make_event(1)])

    assert datastorage.batches[0].authorization is None


@pytest.mark.parametrize("status", [200, 201, 202, 204, 409])
def test_success_and_duplicate_answers_mean_accepted(
    datastorage: DataStoragePeer, make_event: MakeEvent, status: int
) -> None:
    datastorage.status = status

    DataStorageSink(datastorage.url).send_batch([make_event(1)])


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_client_errors_about_the_payload_are_permanent(
    datastorage: DataStoragePeer, make_event: MakeEvent, status: int
) -> None:
    datastorage.status = status

    with pytest.raises(AuditRejectedError, match=str(status)):
        DataStorageSink(datastorage.url).send_batch([make_event(1)])


@pytest.mark.parametrize("status", [401, 403, 408, 429, 500, 502, 503])
def test_server_errors_throttling_and_credential_errors_are_transient(
    datastorage: DataStoragePeer, make_event: MakeEvent, status: int
) -> None:
    datastorage.status = status

    with pytest.raises(AuditDeliveryError, match=str(status)):
        DataStorageSink(datastorage.url).send_batch([make_event(1)])


def test_a_peer_that_is_down_is_transient(make_event: MakeEvent) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    with pytest.raises(AuditDeliveryError):
        DataStorageSink(f"http://127.0.0.1:{free_port}").send_batch([make_event(1)])


def test_a_peer_that_hangs_times_out_as_transient(
    datastorage: DataStoragePeer, make_event: MakeEvent
) -> None:
    datastorage.hold.clear()
    sink = DataStorageSink(datastorage.url, timeout=0.2)
    started = time.monotonic()

    with pytest.raises(AuditDeliveryError):
        sink.send_batch([make_event(1)])

    assert time.monotonic() - started < 5


def test_a_lost_answer_is_transient(datastorage: DataStoragePeer, make_event: MakeEvent) -> None:
    datastorage.lose_responses = 1

    with pytest.raises(AuditDeliveryError):
        DataStorageSink(datastorage.url).send_batch([make_event(1)])


def test_an_unreadable_token_is_transient_and_never_sent(
    datastorage: DataStoragePeer, make_event: MakeEvent, tmp_path: Path
) -> None:
    sink = DataStorageSink(datastorage.url, token_file=tmp_path / "not-mounted-yet")

    with pytest.raises(AuditDeliveryError, match="token file"):
        sink.send_batch([make_event(1)])

    assert datastorage.batches == []


@pytest.mark.parametrize("url", ["", "datastorage:8080", "ftp://datastorage", "http://"])
def test_a_malformed_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ValueError, match="Data Storage URL"):
        DataStorageSink(url)
