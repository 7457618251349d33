"""The hashed lock files in requirements/ cover pyproject.toml: a dependency added without
`make lock` fails here, offline, instead of at the next fresh install or image build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[3]
REQUIREMENTS = REPO / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def pins(lock_file: str) -> dict[str, Version]:
    text = (REQUIREMENTS / lock_file).read_text()
    found = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(*groups: str) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    names = list(project["dependencies"])
    for group in groups:
        names += project["optional-dependencies"][group]
    return [Requirement(r) for r in names]


def _build_requirements() -> list[Requirement]:
    build_system = pyproject()["build-system"]
    assert isinstance(build_system, dict)
    return [Requirement(r) for r in build_system["requires"]]


@pytest.mark.parametrize(
    ("lock_file", "required"),
    [
        ("runtime.txt", _requirements()),
        ("dev.txt", _requirements("test", "dev") + _build_requirements()),
        ("build.txt", _build_requirements()),
    ],
    ids=["runtime", "dev", "build"],
)
def test_every_declared_requirement_is_pinned_within_its_range(
    lock_file: str, required: list[Requirement]
) -> None:
    pinned = pins(lock_file)
    stale = [
        f"{r} (locked: {pinned.get(canonicalize_name(r.name), 'missing')})"
        for r in required
        if canonicalize_name(r.name) not in pinned
        or not r.specifier.contains(pinned[canonicalize_name(r.name)], prereleases=True)
    ]
    assert stale == [], f"requirements/{lock_file} is stale: run `make lock` ({stale})"


@pytest.mark.parametrize("lock_file", ["runtime.txt", "dev.txt", "build.txt"])
def test_every_pin_carries_hashes(lock_file: str) -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (REQUIREMENTS / lock_file).read_text())
    unhashed = [e.split()[0] for e in entries if _PIN.match(e) and not _HASH.search(e)]
    assert unhashed == []


def test_the_image_and_the_dev_tools_run_the_same_runtime_versions() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    differing = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert differing == {}
