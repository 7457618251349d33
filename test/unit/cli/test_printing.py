"""kubectl's output conventions: ages, borderless tables, colour only on a terminal."""

from __future__ import annotations

import io

import pytest

from wfe.cli.printing import RESET, Table, dump, human_duration, wants_colour


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (200, "3m20s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (5 * 3600 + 3 * 60, "5h3m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 5 * 86400, "3y5d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_ages_read_as_kubectl_prints_them(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_tables_have_no_borders_and_align_columns_three_spaces_apart() -> None:
    table = Table(["NAME", "PHASE"], [["a-long-name", "Running"], ["b", "Failed"]])
    assert table.render(colour=False) == (
        "NAME          PHASE\na-long-name   Running\nb             Failed\n"
    )


def test_colour_marks_the_cell_without_moving_the_columns() -> None:
    table = Table(["PHASE", "NAME"], [["Failed", "x"]], stylers={0: lambda _: "\033[31m"})
    plain, coloured = table.render(colour=False), table.render(colour=True)
    assert "\033[31mFailed" + RESET in coloured
    assert coloured.replace("\033[31m", "").replace(RESET, "") == plain


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(_Terminal()) is True
    assert wants_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert wants_colour(_Terminal()) is False


def test_json_and_yaml_output_are_sorted_like_kubectl() -> None:
    assert dump({"b": 1, "a": {"d": 2, "c": 3}}, "json").startswith('{\n    "a": {\n        "c": 3')
    assert dump({"b": 1, "a": 2}, "yaml") == "a: 2\nb: 1\n"
