"""What a scale run seeds: the documented mix, histories per target, Running ones latest and free
targets for the flip."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.scale.seed import FINISHED_AT_LEAST_S, HISTORY_PER_TARGET, counts, plan
from bench.scale.templates import COMPLETED, FAILED, RUNNING, SKIPPED


def test_ten_thousand_seeded_follow_the_documented_mix() -> None:
    p = plan(10_000)
    assert Counter(item.kind for item in p.items) == {
        COMPLETED: 8_000,
        FAILED: 1_000,
        SKIPPED: 800,
        RUNNING: 200,
    }
    assert len({item.name for item in p.items}) == 10_000
    assert p.targets == -(-10_000 // HISTORY_PER_TARGET)  # rounded up


def test_rounding_never_loses_an_execution() -> None:
    for total in (1, 7, 299, 1_001):
        assert sum(counts(total).values()) == total
    with pytest.raises(ValueError):
        plan(0)


def test_finished_ones_are_past_any_cooldown_and_each_target_has_a_mixed_history() -> None:
    p = plan(10_000)
    finished = [item for item in p.items if item.kind != RUNNING]
    assert min(item.age_s for item in finished) >= FINISHED_AT_LEAST_S
    history: dict[str, Counter[str]] = {}
    for item in finished:
        history.setdefault(item.target, Counter())[item.kind] += 1
    assert len(history) == p.targets
    assert all(sum(kinds.values()) >= HISTORY_PER_TARGET - 1 for kinds in history.values())
    assert sum(1 for kinds in history.values() if len(kinds) > 1) > p.targets / 2


def test_running_ones_hold_distinct_targets_that_the_flip_never_uses() -> None:
    p = plan(10_000)
    running = {item.target for item in p.items if item.kind == RUNNING}
    assert len(running) == p.running_targets == 200
    assert all(item.age_s == 0.0 for item in p.items if item.kind == RUNNING)
    free = p.free_targets(1_000)
    assert len(set(free)) == 1_000
    assert running.isdisjoint(free)
    seeded = {item.target for item in p.items}
    assert set(free) <= seeded  # every flip target has a history for the lock check to read


def test_fresh_targets_make_up_for_too_few_free_ones() -> None:
    p = plan(300)
    free = p.free_targets(p.targets)  # more than the targets without a runner
    assert len(set(free)) == p.targets
    assert not {item.target for item in p.items if item.kind == RUNNING} & set(free)
