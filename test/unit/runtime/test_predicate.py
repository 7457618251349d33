"""Predicates: which watch events pass through to a handler."""

from __future__ import annotations

from typing import Any

import pytest

from wfe.runtime.predicate import (
    Funcs,
    GenerationChangedPredicate,
    LabelSelectorPredicate,
    Predicate,
    and_,
    new_predicate_funcs,
    not_,
    or_,
)


def obj(generation: int = 1, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "a", "generation": generation, "labels": labels}}


def verdicts(predicate: Predicate, old: dict[str, Any], new: dict[str, Any]) -> dict[str, bool]:
    return {
        "create": predicate.create(new),
        "update": predicate.update(old, new),
        "delete": predicate.delete(new),
        "generic": predicate.generic(new),
    }


ALL = {"create": True, "update": True, "delete": True, "generic": True}
NONE = {"create": False, "update": False, "delete": False, "generic": False}


@pytest.mark.parametrize(
    ("predicate", "old", "new", "expected"),
    [
        pytest.param(GenerationChangedPredicate(), obj(1), obj(2), ALL, id="spec edit"),
        pytest.param(
            GenerationChangedPredicate(),
            obj(1),
            obj(1),
            {**ALL, "update": False},
            id="status write",
        ),
        pytest.param(
            LabelSelectorPredicate({"app": "x"}), obj(), obj(app="x", t="1"), ALL, id="labels match"
        ),
        pytest.param(
            LabelSelectorPredicate({"app": "x"}), obj(), obj(app="y"), NONE, id="labels differ"
        ),
        pytest.param(
            LabelSelectorPredicate({"app": "x"}),
            obj(app="x"),
            {"metadata": {}},
            NONE,
            id="no labels",
        ),
        pytest.param(LabelSelectorPredicate({}), obj(), obj(), ALL, id="empty selector"),
        pytest.param(Funcs(), obj(), obj(), ALL, id="funcs default to pass"),
        pytest.param(
            Funcs(create=lambda _: False), obj(), obj(), {**ALL, "create": False}, id="funcs create"
        ),
        pytest.param(
            new_predicate_funcs(lambda o: "app" in o["metadata"]["labels"]),
            obj(),
            obj(app="x"),
            ALL,
            id="one test judges the new object",
        ),
        pytest.param(
            and_(Funcs(), LabelSelectorPredicate({"app": "x"})), obj(), obj(), NONE, id="and fails"
        ),
        pytest.param(and_(), obj(), obj(), ALL, id="and of none passes"),
        pytest.param(
            or_(LabelSelectorPredicate({"app": "x"}), Funcs()), obj(), obj(), ALL, id="or passes"
        ),
        pytest.param(or_(), obj(), obj(), NONE, id="or of none fails"),
        pytest.param(
            not_(GenerationChangedPredicate()), obj(1), obj(1), {**NONE, "update": True}, id="not"
        ),
    ],
)
def test_predicate_verdicts(
    predicate: Predicate, old: dict[str, Any], new: dict[str, Any], expected: dict[str, bool]
) -> None:
    assert verdicts(predicate, old, new) == expected
