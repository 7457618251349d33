"""Predicates: filter watch events before they reach a handler (controller-runtime's predicate)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from wfe.runtime.handler import Object


class Predicate(Protocol):
    """Whether an event should be handled; `generic` is for events not tied to a watch verb."""

    def create(self, obj: Object) -> bool: ...

    def update(self, old: Object, new: Object) -> bool: ...

    def delete(self, obj: Object) -> bool: ...

    def generic(self, obj: Object) -> bool: ...


def _always(*_: Object) -> bool:
    return True


class Funcs:
    """A predicate from callables; an event kind without a callable passes."""

    def __init__(
        self,
        *,
        create: Callable[[Object], bool] = _always,
        update: Callable[[Object, Object], bool] = _always,
        delete: Callable[[Object], bool] = _always,
        generic: Callable[[Object], bool] = _always,
    ) -> None:
        self._create = create
        self._update = update
        self._delete = delete
        self._generic = generic

    def create(self, obj: Object) -> bool:
        return self._create(obj)

    def update(self, old: Object, new: Object) -> bool:
        return self._update(old, new)

    def delete(self, obj: Object) -> bool:
        return self._delete(obj)

    def generic(self, obj: Object) -> bool:
        return self._generic(obj)


def new_predicate_funcs(matches: Callable[[Object], bool]) -> Funcs:
    """A predicate applying one test to every event; updates are judged by the new object."""
    return Funcs(
        create=matches, update=lambda _old, new: matches(new), delete=matches, generic=matches
    )


def _generation(obj: Object) -> object:
    return (obj.get("metadata") or {}).get("generation")


class GenerationChangedPredicate(Funcs):
    """Passes updates only when metadata.generation changed (spec edits, not status writes)."""

    def __init__(self) -> None:
        super().__init__(update=lambda old, new: _generation(old) != _generation(new))


class LabelSelectorPredicate:
    """Passes events for objects carrying every label in `match_labels` (an equality selector).

    Updates are judged by the new object, as controller-runtime does.
    """

    def __init__(self, match_labels: Mapping[str, str]) -> None:
        self._match_labels = dict(match_labels)

    def matches(self, obj: Object) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(labels.get(key) == value for key, value in self._match_labels.items())

    def create(self, obj: Object) -> bool:
        return self.matches(obj)

    def update(self, old: Object, new: Object) -> bool:
        return self.matches(new)

    def delete(self, obj: Object) -> bool:
        return self.matches(obj)

    def generic(self, obj: Object) -> bool:
        return self.matches(obj)


def and_(*predicates: Predicate) -> Predicate:
    """Passes when every predicate passes (and so when there are none)."""
    return Funcs(
        create=lambda obj: all(p.create(obj) for p in predicates),
        update=lambda old, new: all(p.update(old, new) for p in predicates),
        delete=lambda obj: all(p.delete(obj) for p in predicates),
        generic=lambda obj: all(p.generic(obj) for p in predicates),
    )


def or_(*predicates: Predicate) -> Predicate:
    """Passes when any predicate passes (and so never when there are none)."""
    return Funcs(
        create=lambda obj: any(p.create(obj) for p in predicates),
        update=lambda old, new: any(p.update(old, new) for p in predicates),
        delete=lambda obj: any(p.delete(obj) for p in predicates),
        generic=lambda obj: any(p.generic(obj) for p in predicates),
    )


def not_(predicate: Predicate) -> Predicate:
    """Passes exactly the events `predicate` rejects."""
    return Funcs(
        create=lambda obj: not predicate.create(obj),
        update=lambda old, new: not predicate.update(old, new),
        delete=lambda obj: not predicate.delete(obj),
        generic=lambda obj: not predicate.generic(obj),
    )
