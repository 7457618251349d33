"""Command line of ``kubectl wfe``: flags as kubectl spells them (before or after the subcommand),
dispatch, and kubectl's exit codes and error lines (0 ok, 1 error, 2 bad usage)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO

import structlog

from api.workflowexecution.v1alpha1.duration import parse_go_duration
from wfe.cli import explain
from wfe.cli.locks import CooldownRow, LockRow, cooldown_rows, lock_rows
from wfe.cli.printing import Table, dump, wants_colour
from wfe.cli.reader import ClusterReader, default_namespace
from wfe.cli.tables import cooldowns_table, get_table, locks_table
from wfe.runtime.client import ApiConnectionError, ApiError, ConfigError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_COOLDOWN = "5m"
DEFAULT_MAX_COOLDOWN = "1h"

_COMMON: dict[str, object] = {
    "kubeconfig": None,
    "context": None,
    "namespace": None,
    "all_namespaces": False,
    "output": "",
    "cooldown_period": None,
    "max_cooldown": None,
}


def _common_flags() -> argparse.ArgumentParser:
    # SUPPRESS: a flag given before the subcommand is not overwritten by the subcommand's default
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--kubeconfig",
        help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    common.add_argument("--context", help="the kubeconfig context to use")
    common.add_argument("-n", "--namespace", help="the namespace (default: the context's)")
    common.add_argument("-A", "--all-namespaces", action="store_true", help="across all namespaces")
    common.add_argument("-o", "--output", choices=["json", "yaml", "wide"], help="output format")
    common.add_argument(
        "--cooldown-period",
        help="the controller's --cooldown-period (default: $WFE_COOLDOWN_PERIOD, else 5m)",
    )
    common.add_argument(
        "--max-cooldown",
        help="the controller's --max-cooldown (default: $WFE_MAX_COOLDOWN, else 1h)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_flags()
    parser = argparse.ArgumentParser(
        prog="kubectl wfe",
        parents=[common],
        description="Read-only views of WorkflowExecutions: resource locks, cooldowns, and why one ran, failed or was skipped.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    locks = commands.add_parser(
        "locks",
        parents=[common],
        help="one row per locked target: who holds it, and when a finished holder releases it",
        description="Locks are cluster-wide: all namespaces unless -n is given.",
    )
    locks.add_argument("--target", help="only this targetResource")
    cooldowns = commands.add_parser(
        "cooldowns",
        parents=[common],
        help="targets x workflows a new execution of which would be skipped as RecentlyRemediated",
        description="Cooldowns are cluster-wide: all namespaces unless -n is given.",
    )
    cooldowns.add_argument("--target", help="only this targetResource")
    explain_command = commands.add_parser(
        "explain",
        parents=[common],
        help="phase, skip or failure details, PipelineRun, failed step and Events of one WorkflowExecution",
    )
    explain_command.add_argument("name", metavar="NAME")
    get = commands.add_parser(
        "get",
        parents=[common],
        help="list WorkflowExecutions with their printer columns and reason",
    )
    get.add_argument("names", metavar="NAME", nargs="*")
    return parser


def entry() -> None:
    """The console script ``kubectl-wfe``. The controller code the plugin reuses logs with
    structlog: only warnings, and on stderr, so they never mix into ``-o json`` on stdout."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    sys.exit(main())


Command = Callable[[argparse.Namespace, ClusterReader, TextIO], int]


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in _COMMON.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    try:
        args.cooldown_seconds = parse_go_duration(
            args.cooldown_period or os.environ.get("WFE_COOLDOWN_PERIOD") or DEFAULT_COOLDOWN
        )
    except ValueError as err:
        parser.error(f"--cooldown-period: {err}")
    try:
        args.max_cooldown_seconds = parse_go_duration(
            args.max_cooldown or os.environ.get("WFE_MAX_COOLDOWN") or DEFAULT_MAX_COOLDOWN
        )
    except ValueError as err:
        parser.error(f"--max-cooldown: {err}")
    if args.namespace and args.all_namespaces:
        parser.error("-n and -A are mutually exclusive")
    try:
        reader = ClusterReader.connect(args.kubeconfig, args.context)
        return _COMMANDS[args.command](args, reader, out)
    except ApiConnectionError as err:
        print(f"error: unable to connect to the server: {err.message}", file=sys.stderr)
    except ApiError as err:
        print(f"Error from server ({err.reason}): {err.message}", file=sys.stderr)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
    return EXIT_ERROR


def _now() -> datetime:
    return datetime.now(UTC)


def _namespace(args: argparse.Namespace) -> str:
    return str(args.namespace or default_namespace(args.kubeconfig, args.context))


def _lock_scope(args: argparse.Namespace) -> str | None:
    """The lock is cluster-wide, so its views are too, unless a namespace is asked for."""
    return None if args.all_namespaces else args.namespace


def _nothing(what: str) -> int:
    print(what, file=sys.stderr)
    return EXIT_OK


def run_locks(args: argparse.Namespace, reader: ClusterReader, out: TextIO) -> int:
    now = _now()
    rows = lock_rows(
        reader.workflow_executions(_lock_scope(args)),
        args.cooldown_seconds,
        now,
        args.target,
        max_cooldown_seconds=args.max_cooldown_seconds,
        kinds=reader.kind_names(),
    )
    return _print_view(
        args,
        out,
        "LockList",
        rows,
        "No locks held.",
        lambda wide: locks_table(rows, now, wide=wide),
    )


def run_cooldowns(args: argparse.Namespace, reader: ClusterReader, out: TextIO) -> int:
    rows = cooldown_rows(
        reader.workflow_executions(_lock_scope(args)),
        args.cooldown_seconds,
        _now(),
        args.target,
        max_cooldown_seconds=args.max_cooldown_seconds,
        kinds=reader.kind_names(),
    )
    return _print_view(
        args,
        out,
        "CooldownList",
        rows,
        "No cooldowns running.",
        lambda wide: cooldowns_table(rows, wide=wide),
    )


def _print_view(
    args: argparse.Namespace,
    out: TextIO,
    list_kind: str,
    rows: Sequence[LockRow] | Sequence[CooldownRow],
    nothing: str,
    table: Callable[[bool], Table],
) -> int:
    """kubectl's -o json|yaml (a List, even when empty), else a table, or a line on stderr."""
    if args.output in ("json", "yaml"):
        out.write(dump({"kind": list_kind, "items": [r.as_dict() for r in rows]}, args.output))
        return EXIT_OK
    if not rows:
        return _nothing(nothing)
    out.write(table(args.output == "wide").render(wants_colour(out)))
    return EXIT_OK


def run_explain(args: argparse.Namespace, reader: ClusterReader, out: TextIO) -> int:
    explanation = explain.gather(reader, args.name, _namespace(args))
    if args.output in ("json", "yaml"):
        out.write(dump(explanation.as_dict(), args.output))
    else:
        out.write(explain.render(explanation, _now(), wants_colour(out)))
    return EXIT_OK


def run_get(args: argparse.Namespace, reader: ClusterReader, out: TextIO) -> int:
    namespace = None if args.all_namespaces else _namespace(args)
    if args.names:
        if namespace is None:
            print(
                "error: a resource cannot be retrieved by name across all namespaces",
                file=sys.stderr,
            )
            return EXIT_ERROR
        wfes = [reader.workflow_execution(name, namespace) for name in args.names]
    else:
        wfes = reader.workflow_executions(namespace)
    if args.output in ("json", "yaml"):
        if len(args.names) == 1:
            out.write(dump(wfes[0], args.output))
        else:
            out.write(
                dump(
                    {
                        "apiVersion": "v1",
                        "kind": "List",
                        "metadata": {"resourceVersion": ""},
                        "items": wfes,
                    },
                    args.output,
                )
            )
        return EXIT_OK
    if not wfes:
        where = "any namespace" if namespace is None else f"{namespace} namespace"
        return _nothing(f"No resources found in {where}.")
    table = get_table(wfes, _now(), all_namespaces=args.all_namespaces, wide=args.output == "wide")
    out.write(table.render(wants_colour(out)))
    return EXIT_OK


_COMMANDS: dict[str, Command] = {
    "locks": run_locks,
    "cooldowns": run_cooldowns,
    "explain": run_explain,
    "get": run_get,
}
