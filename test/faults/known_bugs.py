"""Failures that mean one of the bugs issue 9 found is back: a test raises :class:`KnownBugError`
naming the item, so a regression says which fixed bug returned."""

from __future__ import annotations


class KnownBugError(AssertionError):
    """An assertion that fails only because of a bug listed in issue 9."""

    def __init__(self, item: int | str, message: str) -> None:
        super().__init__(f"issue 9 item {item}: {message}")
        self.item = item
