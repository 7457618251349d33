"""Flags, env vars and the config file: precedence, defaults and one-line errors (SPEC §10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfe.cmd import EXIT_BAD_CONFIG, main
from wfe.config import ConfigurationError, parse


def test_defaults_match_the_spec() -> None:
    config = parse([], environ={})
    assert config.metrics_bind_address == ":9090"
    assert config.health_probe_bind_address == ":8081"
    assert config.leader_elect is False
    assert config.leader_election_id == "workflowexecution.kubernaut.ai"
    assert config.execution_namespace == "kubernaut-workflows"
    assert config.service_account == "kubernaut-workflow-runner"
    assert config.cooldown_period == 300.0
    assert config.default_timeout == 1800.0
    assert config.max_concurrent_reconciles == 4
    assert config.watch_namespace is None
    assert (config.log_format, config.audit_sink) == ("json", "log")
    assert (config.kube_api_qps, config.kube_api_burst) == (500.0, 1000)


def test_the_client_side_limit_comes_from_flags_env_or_file(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("kube-api-burst: 60\n")
    config = parse(
        ["--config", str(file), "--kube-api-qps", "40.5"], environ={"WFE_KUBE_API_BURST": "70"}
    )
    assert (config.kube_api_qps, config.kube_api_burst) == (40.5, 70)
    assert parse(["--config", str(file)], environ={}).kube_api_burst == 60
    assert parse(["--kube-api-qps", "0"], environ={}).kube_api_qps == 0.0  # no limit


def test_flags_win_over_env_which_wins_over_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text(
        "cooldown-period: 1m\nexecution-namespace: from-file\nmax-concurrent-reconciles: 2\n"
    )
    config = parse(
        ["--config", str(file), "--cooldown-period", "10s"],
        environ={"WFE_COOLDOWN_PERIOD": "20s", "WFE_EXECUTION_NAMESPACE": "from-env"},
    )
    assert config.cooldown_period == 10.0  # flag
    assert config.execution_namespace == "from-env"  # env over file
    assert config.max_concurrent_reconciles == 2  # file over default


def test_boolean_flag_without_value_means_true() -> None:
    assert parse(["--leader-elect"], environ={}).leader_elect is True
    assert parse([], environ={"WFE_LEADER_ELECT": "false"}).leader_elect is False


@pytest.mark.parametrize(
    ("argv", "environ", "complaint"),
    [
        (["--cooldown-period", "five minutes"], {}, "--cooldown-period: expected a Go duration"),
        (["--max-concurrent-reconciles", "many"], {}, "expected a whole number"),
        (["--max-concurrent-reconciles", "0"], {}, "at least 1"),
        (["--log-format", "xml"], {}, "expected one of json, console"),
        ([], {"WFE_LEADER_ELECT": "maybe"}, "WFE_LEADER_ELECT: expected true or false"),
        (["--audit-sink", "datastorage"], {}, "needs --datastorage-url"),
        (["--metrics-bind-address", "9090"], {}, "expected host:port"),
        (["--no-such-flag"], {}, "invalid command line"),
        (["--kube-api-qps", "fast"], {}, "--kube-api-qps: expected a number"),
        ([], {"WFE_KUBE_API_QPS": "-1"}, "--kube-api-qps must not be negative"),
        (["--kube-api-burst", "0"], {}, "--kube-api-burst must be at least 1"),
    ],
)
def test_bad_values_are_one_clear_line(
    argv: list[str], environ: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse(argv, environ=environ)
    assert complaint in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_keys_in_the_config_file_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("cooldown: 5m\n")
    with pytest.raises(ConfigurationError, match="unknown keys: cooldown"):
        parse(["--config", str(file)], environ={})


def test_the_binary_exits_2_on_a_bad_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--default-timeout", "-"]) == EXIT_BAD_CONFIG
    assert "--default-timeout" in capsys.readouterr().err
