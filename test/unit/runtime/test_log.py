"""Log lines: JSON with the standard keys, reconcile context bound per thread, secrets redacted."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from wfe.runtime.log import (
    REDACTED,
    bind_reconcile,
    configure_logging,
    get_logger,
    new_reconcile_id,
)


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    yield stream
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_and_message(output: io.StringIO) -> None:
    get_logger("wfe.test").info("reconciled", phase="Running")
    (line,) = lines(output)
    assert list(line)[:4] == ["ts", "level", "logger", "msg"]
    assert (line["level"], line["logger"], line["msg"], line["phase"]) == (
        "info",
        "wfe.test",
        "reconciled",
        "Running",
    )
    assert line["ts"].endswith("Z")


def test_stdlib_records_from_libraries_get_the_same_shape(output: io.StringIO) -> None:
    logging.getLogger("urllib3.connectionpool").warning("retrying %s", "GET")
    (line,) = lines(output)
    assert (line["level"], line["logger"], line["msg"]) == (
        "warning",
        "urllib3.connectionpool",
        "retrying GET",
    )


def test_a_reconciles_keys_are_bound_only_in_its_context_and_only_on_its_thread(
    output: io.StringIO,
) -> None:
    log = get_logger("wfe.test")
    other_thread_done = threading.Event()

    def reconcile() -> str:
        rid = bind_reconcile(controller="workflowexecution", namespace="ns", name="wfe-1")
        log.info("inside")
        threading.Thread(target=lambda: (log.info("elsewhere"), other_thread_done.set())).start()
        assert other_thread_done.wait(5)
        return rid

    rid = contextvars.copy_context().run(reconcile)
    log.info("after")
    inside, elsewhere, after = lines(output)
    assert {key: inside[key] for key in ("controller", "namespace", "name", "reconcileID")} == {
        "controller": "workflowexecution",
        "namespace": "ns",
        "name": "wfe-1",
        "reconcileID": rid,
    }
    assert "reconcileID" not in elsewhere
    assert "reconcileID" not in after


def test_reconcile_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_reconcile_id() for _ in range(1000)]

    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(rid).version == 4 and str(uuid.UUID(rid)) == rid for rid in ids)
    assert all(uuid.UUID(rid).variant == uuid.RFC_4122 for rid in ids)


def test_secret_looking_keys_are_redacted(output: io.StringIO) -> None:
    get_logger("wfe.test").info("calling", Authorization="Bearer abc", token="xyz", url="/api")
    (line,) = lines(output)
    assert (line["Authorization"], line["token"], line["url"]) == (REDACTED, REDACTED, "/api")


def test_level_filters_lower_records(output: io.StringIO) -> None:
    configure_logging("warn", "json", output)
    get_logger("wfe.test").info("hidden")
    get_logger("wfe.test").error("shown")
    assert [line["msg"] for line in lines(output)] == ["shown"]


def test_unknown_levels_are_rejected() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("verbose")


def test_a_closed_log_stream_never_fails_the_caller(output: io.StringIO) -> None:
    output.close()
    get_logger("wfe.test").info("after the stream closed")
    logging.getLogger("urllib3").warning("from a library too")
