"""The plugin's tables: ``get`` (the CRD's printer columns plus the reason), ``locks`` and
``cooldowns``; each row also has a structured form for ``-o json|yaml``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wfe.cli.locks import CooldownRow, LockRow
from wfe.cli.printing import PHASE_COLOURS, Table, human_duration
from wfe.controller.engines.registry import engine_name_of
from wfe.controller.timestamps import parse_time

Object = dict[str, Any]


def _phase_colour(phase: str) -> str | None:
    return PHASE_COLOURS.get(phase)


def age(timestamp: object, now: datetime) -> str:
    moment = parse_time(timestamp)
    return "<unknown>" if moment is None else human_duration((now - moment).total_seconds())


# how the execution column names what a workflow runs as, kubectl's kind/name style
_EXECUTION_KINDS = {"tekton": "pipelinerun", "job": "job"}


def execution_of(wfe: Object, *, with_namespace: bool) -> str:
    """``pipelinerun/<name>`` or ``job/<name>`` (namespace first when asked); ``<none>`` before
    the controller created one."""
    ref = (wfe.get("status") or {}).get("pipelineRunRef") or {}
    if not ref.get("name"):
        return "<none>"
    kind = _EXECUTION_KINDS.get(engine_name_of(wfe), engine_name_of(wfe))
    where = f"{ref.get('namespace')}/{ref['name']}" if with_namespace else str(ref["name"])
    return f"{kind}/{where}"


def reason_of(wfe: Object) -> str:
    """The CRD's Reason column: the failure reason, else the skip reason."""
    status = wfe.get("status") or {}
    return str(
        (status.get("failureDetails") or {}).get("reason")
        or (status.get("skipDetails") or {}).get("reason")
        or ""
    )


def get_table(wfes: list[Object], now: datetime, *, all_namespaces: bool, wide: bool) -> Table:
    headers = ["NAME", "PHASE", "TARGET", "WORKFLOWID", "DURATION", "REASON", "AGE"]
    if wide:
        headers += ["EXECUTION", "MESSAGE"]
    if all_namespaces:
        headers.insert(0, "NAMESPACE")
    table = Table(headers, stylers={headers.index("PHASE"): _phase_colour})
    for wfe in sorted(
        wfes, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
    ):
        meta, spec, status = wfe["metadata"], wfe.get("spec") or {}, wfe.get("status") or {}
        row = [
            meta["name"],
            str(status.get("phase") or ""),
            str(spec.get("targetResource", "")),
            str((spec.get("workflowRef") or {}).get("workflowId", "")),
            str(status.get("duration") or ""),
            reason_of(wfe),
            age(meta.get("creationTimestamp"), now),
        ]
        if wide:
            row += [execution_of(wfe, with_namespace=False), str(status.get("message") or "")]
        if all_namespaces:
            row.insert(0, meta.get("namespace", ""))
        table.rows.append(row)
    return table


def locks_table(rows: list[LockRow], now: datetime, *, wide: bool) -> Table:
    headers = [
        "TARGET",
        "HOLDER",
        "WORKFLOWID",
        "PHASE",
        "EXECUTION",
        "STARTED",
        "COOLDOWN-LEFT",
        "RELEASED-AT",
    ]
    if wide:
        headers += ["COMPLETED", "HOLDER-UID"]
    table = Table(headers, stylers={3: _phase_colour})
    for row in rows:
        data = row.as_dict()
        cells = [
            row.target,
            f"{data['holder']['namespace']}/{data['holder']['name']}",
            data["workflowId"],
            row.phase,
            execution_of(row.holder, with_namespace=True),
            f"{age(data['startedAt'], now)} ago" if data["startedAt"] else "<none>",
            "-" if row.seconds_left is None else human_duration(row.seconds_left),
            data["releasedAt"] or "when it finishes",
        ]
        if wide:
            cells += [data["completedAt"] or "<none>", str(data["holder"]["uid"])]
        table.rows.append(cells)
    return table


def cooldowns_table(rows: list[CooldownRow], *, wide: bool) -> Table:
    headers = ["TARGET", "WORKFLOWID", "LAST-EXECUTION", "OUTCOME", "COMPLETED", "TIME-LEFT"]
    if wide:
        headers += ["ENDS-AT"]
    table = Table(headers)
    for row in rows:
        data = row.as_dict()
        cells = [
            row.target,
            row.workflow_id,
            f"{data['lastExecution']['namespace']}/{data['lastExecution']['name']}",
            str(data["outcome"] or ""),
            str(data["completedAt"] or ""),
            human_duration(row.seconds_left),
        ]
        if wide:
            cells.append(data["endsAt"])
        table.rows.append(cells)
    return table
