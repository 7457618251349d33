"""The log sink's output and the recorder the ``--audit-sink`` flags build."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog
from support.wait import wait_for

from wfe.audit import AuditEvent, LogSink, NoopRecorder, Recorder, build_recorder

if TYPE_CHECKING:
    from conftest import DataStoragePeer

MakeEvent = Callable[..., AuditEvent]


@pytest.fixture
def recorders() -> Iterator[list[Recorder]]:
    built: list[Recorder] = []
    yield built
    for recorder in built:
        recorder.stop(timeout=1)


def test_the_log_sink_writes_one_json_line_per_event(make_event: MakeEvent) -> None:
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out), processors=[structlog.processors.JSONRenderer()]
    )
    events = [make_event(1), make_event(2)]

    LogSink(logger).send_batch(events)

    lines = out.getvalue().splitlines()
    assert [json.loads(line)["audit"] for line in lines] == [event.to_dict() for event in events]


def test_the_log_sink_recorder_spools_to_the_given_directory_first(
    make_event: MakeEvent, tmp_path: Path, recorders: list[Recorder]
) -> None:
    recorder = build_recorder("log", spool_dir=tmp_path / "spool", flush_interval=0.01)
    recorders.append(recorder)
    event = make_event(1)

    recorder.record(event)

    assert (tmp_path / "spool" / f"{event.event_id}.json").exists()
    recorder.start()
    wait_for(lambda: recorder.is_recorded(event.event_id), timeout=5, message="logged")


def test_the_datastorage_sink_delivers_with_the_token_file(
    datastorage: DataStoragePeer, make_event: MakeEvent, tmp_path: Path, recorders: list[Recorder]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("projected-sa-token")
    recorder = build_recorder(
        "datastorage", datastorage.url, token_file, None, flush_interval=0.01, allow_insecure=True
    )
    recorders.append(recorder)
    event = make_event(1)

    recorder.start()
    recorder.record(event)

    wait_for(lambda: recorder.is_recorded(event.event_id), timeout=5, message="delivered")
    assert datastorage.batches[0].authorization == "Bearer projected-sa-token"


def test_the_none_sink_records_nothing_and_reports_everything_recorded(
    make_event: MakeEvent,
) -> None:
    recorder = build_recorder("none")
    event = make_event(1)

    recorder.start()
    recorder.record(event)
    recorder.stop()

    assert isinstance(recorder, NoopRecorder)
    assert recorder.enabled is False
    assert recorder.is_recorded(event.event_id)
    assert not recorder.is_pending(event.event_id)


@pytest.mark.parametrize(
    ("sink", "url", "message"),
    [
        ("datastorage", None, "needs --datastorage-url"),
        ("datastorage", "datastorage:8080", "Data Storage URL"),
        ("kafka", None, "unknown audit sink 'kafka'"),
    ],
)
def test_a_bad_audit_configuration_is_refused(sink: str, url: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_recorder(sink, url)
