"""A WorkflowExecution spec checked against the CRD's own schema, without pydantic.

The controller's defence in depth beyond the API server (SPEC §3 step 1): an object an older or
hand-edited CRD admitted must end Failed/ConfigurationError with a message, never run. The rules are
not written twice: `hack/gen_crd.py` generates the CRD schema from the pydantic models and, from the
same conversion, `zz_generated_spec_schema.py`, which this module interprets. It reads the subset of
OpenAPI v3 a structural CRD schema uses (type, properties, required, additionalProperties, items,
pattern, min/maxLength, minimum/maximum, min/maxProperties, min/maxItems, enum, int-or-string) and the
schema's CEL rules through their Python equivalents below: a rule without one fails the unit tests,
so a new rule in the models cannot be skipped silently here.

Values are read as the API server stores them (JSON types; a null optional field is absent, as the
API server prunes it). Unknown fields are ignored, as the API server prunes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from .constants import ExecutionEngine
from .duration import is_execution_timeout


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """The first thing wrong with a spec: where (`spec.workflowRef.containerImage`) and what."""

    path: str
    message: str


def spec_problem(spec: object) -> SpecProblem | None:
    """The first problem of a WorkflowExecution's spec against the CRD schema, or None when valid."""
    return _spec_check()(spec, "spec")


# ------------------------------------------------------------------------------- the CEL rules

_EACH_KEY_MATCHES: Final = re.compile(r"self\.all\(k, k\.matches\('(?P<pattern>[^']+)'\)\)")


def _resources_need_job(value: Any) -> bool:
    return value.get("resources") is None or value.get("executionEngine") == ExecutionEngine.JOB


# Every CEL rule of the spec's schema, as Python. A transition rule (one reading oldSelf) only
# applies to updates, which the API server alone sees: it has no equivalent here.
CEL_EQUIVALENTS: Final[Mapping[str, Callable[[Any], bool]]] = {
    "duration(self) > duration('0s') && duration(self) <= duration('24h')": is_execution_timeout,
    "!has(self.resources) || (has(self.executionEngine) && self.executionEngine == 'job')": (
        _resources_need_job
    ),
}


class UntranslatedRuleError(LookupError):
    """The schema carries a CEL rule this module has no Python equivalent for."""


def cel_equivalent(rule: str) -> Callable[[Any], bool] | None:
    """The Python form of one CEL rule; None for a transition rule. Raises for an unknown rule."""
    if "oldSelf" in rule:
        return None
    each_key = _EACH_KEY_MATCHES.fullmatch(rule)
    if each_key is not None:
        key_matches = _matcher(each_key["pattern"])
        return lambda value: all(key_matches(key) for key in value)
    try:
        return CEL_EQUIVALENTS[rule]
    except KeyError:
        raise UntranslatedRuleError(
            f"no Python equivalent for the CEL rule {rule!r}: add it to CEL_EQUIVALENTS"
        ) from None


# ------------------------------------------------------------------------ the schema, compiled

Check = Callable[[Any, str], SpecProblem | None]


@cache
def _spec_check() -> Check:
    # read on first use, so that the package imports even while the generator rewrites the module
    from .zz_generated_spec_schema import SPEC_SCHEMA

    return compile_schema(SPEC_SCHEMA)


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """One function checking a value against a structural schema node and everything below it."""
    checks = [*_type_checks(schema), *_rule_checks(schema)]
    if len(checks) == 1:
        return checks[0]

    def check(value: Any, path: str) -> SpecProblem | None:
        for one in checks:
            problem = one(value, path)
            if problem is not None:
                return problem
        return None

    return check


def _type_checks(schema: Mapping[str, Any]) -> list[Check]:
    if schema.get("x-kubernetes-int-or-string"):
        return [_int_or_string(schema)]
    kind = schema["type"]
    if kind == "object":
        return _object_checks(schema)
    if kind == "array":
        return _array_checks(schema)
    if kind == "string":
        return [_string(schema)]
    if kind in ("integer", "number"):
        return [_number(schema, integer=kind == "integer")]
    if kind == "boolean":
        return [_holds(lambda value: isinstance(value, bool), "should be a boolean")]
    raise ValueError(f"a structural schema has no type {kind!r}")


def _rule_checks(schema: Mapping[str, Any]) -> list[Check]:
    checks: list[Check] = []
    for validation in schema.get("x-kubernetes-validations", ()):
        holds = cel_equivalent(validation["rule"])
        if holds is not None:
            checks.append(_holds(holds, validation["message"]))
    return checks


def _holds(holds: Callable[[Any], bool], message: str) -> Check:
    """A check that `holds(value)`; `message` says what it means when it does not."""
    return lambda value, path: None if holds(value) else SpecProblem(path, message)


def _matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a text matches `pattern` (searched for, as JSON schema and Go's regexp do)."""
    find = re.compile(_as_re2_reads_it(pattern)).search
    return lambda text: find(text) is not None


def _as_re2_reads_it(pattern: str) -> str:
    """`pattern` for Python's `re` as Go's RE2 reads it: an unescaped `$` outside a character class
    is the end of the text (`\\Z`), where Python's `$` also matches before a final newline (so
    `"app\\n"` would match `^app$`). Otherwise the patterns keep to what both engines read alike
    (patterns.py)."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]" or out[-1] == "[" or out[-2:] == ["[", "^"]  # []…] and [^]…]
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


def _string_constraints(schema: Mapping[str, Any]) -> Callable[[str, str], SpecProblem | None]:
    pattern = schema.get("pattern")
    matches = _matcher(pattern) if pattern is not None else None
    min_length = schema.get("minLength")
    max_length = schema.get("maxLength")
    allowed = schema.get("enum")

    def check(value: str, path: str) -> SpecProblem | None:
        if min_length is not None and len(value) < min_length:
            return SpecProblem(path, f"should have at least {min_length} characters")
        if max_length is not None and len(value) > max_length:
            return SpecProblem(path, f"should have at most {max_length} characters")
        if allowed is not None and value not in allowed:
            return SpecProblem(path, "should be one of " + ", ".join(map(repr, allowed)))
        if matches is not None and not matches(value):
            return SpecProblem(path, f"should match pattern {pattern!r}")
        return None

    return check


def _string(schema: Mapping[str, Any]) -> Check:
    constraints = _string_constraints(schema)

    def check(value: Any, path: str) -> SpecProblem | None:
        if not isinstance(value, str):
            return SpecProblem(path, "should be a string")
        return constraints(value, path)

    return check


def _int_or_string(schema: Mapping[str, Any]) -> Check:
    constraints = _string_constraints(schema)  # the pattern applies to the string form only

    def check(value: Any, path: str) -> SpecProblem | None:
        if isinstance(value, str):
            return constraints(value, path)
        if _is_integer(value):
            return None
        return SpecProblem(path, "should be an integer or a string")

    return check


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _number(schema: Mapping[str, Any], *, integer: bool) -> Check:
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    is_it = _is_integer if integer else _is_number

    def check(value: Any, path: str) -> SpecProblem | None:
        if not is_it(value):
            return SpecProblem(path, "should be an integer" if integer else "should be a number")
        if minimum is not None and value < minimum:
            return SpecProblem(path, f"should be at least {minimum}")
        if maximum is not None and value > maximum:
            return SpecProblem(path, f"should be at most {maximum}")
        return None

    return check


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _object_checks(schema: Mapping[str, Any]) -> list[Check]:
    required = tuple(schema.get("required", ()))
    properties = {
        name: compile_schema(child) for name, child in schema.get("properties", {}).items()
    }
    entries = (
        compile_schema(schema["additionalProperties"]) if "additionalProperties" in schema else None
    )
    min_properties = schema.get("minProperties")
    max_properties = schema.get("maxProperties")

    def check(value: Any, path: str) -> SpecProblem | None:
        if not isinstance(value, dict):
            return SpecProblem(path, "should be an object")
        for name in required:
            if value.get(name) is None:
                return SpecProblem(f"{path}.{name}", "is required")
        if min_properties is not None and len(value) < min_properties:
            return SpecProblem(path, f"should have at least {min_properties} entries")
        if max_properties is not None and len(value) > max_properties:
            return SpecProblem(path, f"should have at most {max_properties} entries")
        for name, child in properties.items():
            field = value.get(name)
            if field is not None:
                problem = child(field, f"{path}.{name}")
                if problem is not None:
                    return problem
        if entries is not None:
            for key, entry in value.items():
                problem = entries(entry, f"{path}.{key}")
                if problem is not None:
                    return problem
        return None

    return [check]


def _array_checks(schema: Mapping[str, Any]) -> list[Check]:
    items = compile_schema(schema["items"]) if "items" in schema else None
    min_items = schema.get("minItems")
    max_items = schema.get("maxItems")

    def check(value: Any, path: str) -> SpecProblem | None:
        if not isinstance(value, list):
            return SpecProblem(path, "should be a list")
        if min_items is not None and len(value) < min_items:
            return SpecProblem(path, f"should have at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            return SpecProblem(path, f"should have at most {max_items} items")
        if items is not None:
            for index, item in enumerate(value):
                problem = items(item, f"{path}[{index}]")
                if problem is not None:
                    return problem
        return None

    return [check]
