"""Flags, env vars and the config file: precedence, defaults and one-line errors (SPEC §10)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wfe.cmd import EXIT_BAD_CONFIG, connections_wanted, main
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
        # found bad only after parsing (issue 9, item 20)
        (["--metrics-bind-address", ":notaport"], {}, "--metrics-bind-address: expected host:port"),
        (["--health-probe-bind-address", ":70000"], {}, "--health-probe-bind-address"),
        (["--datastorage-url", "ftp://x"], {}, "--datastorage-url: expected an http"),
        (["--datastorage-url", "http://x:port"], {}, "--datastorage-url"),
        (["--execution-namespace", "Bad_NS"], {}, "--execution-namespace: 'Bad_NS'"),
        ([], {"WFE_WATCH_NAMESPACE": "x" * 64}, "--watch-namespace"),
        (["--service-account", "Bad_SA"], {}, "--service-account: 'Bad_SA'"),
        (["--cooldown-period", "-5m"], {}, "--cooldown-period must not be negative"),
        (["--cooldown-period=-5m"], {}, "--cooldown-period must not be negative"),
        (["--graceful-shutdown-timeout", "-1s"], {}, "--graceful-shutdown-timeout must not be"),
        (["--max-cooldown", "1m"], {}, "--max-cooldown must not be shorter than --cooldown-period"),
        (["--create-retry-window", "0s"], {}, "--create-retry-window must be positive"),
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


def test_new_flags_default_to_the_spec() -> None:
    config = parse([], environ={})
    assert (config.max_cooldown, config.create_retry_window) == (3600.0, 300.0)


def test_an_unwritable_spool_directory_is_refused_by_name(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with pytest.raises(ConfigurationError, match=r"--audit-spool-dir: .* is not a writable"):
        parse(["--audit-spool-dir", str(not_a_directory / "spool")], environ={})


def test_a_missing_spool_directory_is_created(tmp_path: Path) -> None:
    spool = tmp_path / "a" / "spool"
    assert parse(["--audit-spool-dir", str(spool)], environ={}).audit_spool_dir == str(spool)
    assert spool.is_dir()


@pytest.mark.parametrize(
    "argv",
    [
        ["--cooldown-period", "-5m"],
        ["--metrics-bind-address", ":notaport"],
        ["--datastorage-url", "ftp://x"],
        ["--execution-namespace", "Bad_NS"],
        ["--service-account", "Bad_SA"],
    ],
)
def test_the_binary_says_one_line_naming_the_flag_and_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_BAD_CONFIG
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and argv[0] in lines[0]


def test_no_traceback_reaches_the_terminal() -> None:
    # as a process, once: the interpreter would print a traceback for anything main() let escape
    done = subprocess.run(
        [sys.executable, "-m", "wfe", "--cooldown-period", "-5m"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_BAD_CONFIG
    assert done.stderr.strip() == "wfe-controller: --cooldown-period must not be negative"


def test_the_binary_exits_2_on_a_bad_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--default-timeout", "-"]) == EXIT_BAD_CONFIG
    assert "--default-timeout" in capsys.readouterr().err


def test_engines_default_to_tekton_and_name_known_engines_only() -> None:
    assert parse([], environ={}).engine_names == ("tekton",)
    assert parse(["--engines", "tekton, job"], environ={}).engine_names == ("tekton", "job")
    assert parse(["--engines=job"], environ={}).engine_names == ("job",)
    for bad, says in (("argo", "unknown engine"), ("", "at least one"), ("job,job", "twice")):
        with pytest.raises(ConfigurationError, match=says):
            parse([f"--engines={bad}"], environ={})


def test_the_engines_flag_knows_every_engine_module() -> None:
    from wfe.config import _ENGINE_NAMES
    from wfe.controller.engines import KNOWN_ENGINES

    assert set(_ENGINE_NAMES) == set(KNOWN_ENGINES)


@pytest.mark.parametrize("workers", [1, 4, 16, 64])
def test_the_client_keeps_a_connection_for_every_thread_that_may_wait_on_the_api(
    workers: int,
) -> None:
    config = parse(["--max-concurrent-reconciles", str(workers)], environ={})
    callers = workers + 2  # the workers, the Event sender, leader election
    assert connections_wanted(config) >= callers
