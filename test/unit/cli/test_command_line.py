"""kubectl's command-line conventions: flags on either side of the subcommand, usage errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfe.cli.main import EXIT_USAGE, build_parser, main


def test_flags_are_read_before_and_after_the_subcommand() -> None:
    before = build_parser().parse_args(["-n", "team", "-o", "json", "get"])
    after = build_parser().parse_args(["get", "-n", "team", "-o", "json"])
    assert (before.namespace, before.output) == (after.namespace, after.output) == ("team", "json")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["get", "-n", "a", "-A"], "-n and -A are mutually exclusive"),
        (["locks", "--cooldown-period", "five minutes"], "--cooldown-period"),
        (["get", "-o", "table"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_usage_exits_2_saying_why(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == EXIT_USAGE
    assert complaint in capsys.readouterr().err


def test_no_cluster_configured_is_an_error_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"{tmp_path}/nowhere.kubeconfig"
    assert main(["--kubeconfig", missing, "get"]) == 1
    assert capsys.readouterr().err.startswith("error: no usable Kubernetes configuration")
