"""The locks agree with pyproject.toml, and the README's commands install from them.

pyproject.toml keeps open ranges for people who install feedhub as a library; the
repository's own commands install requirements/serve.txt and requirements/test.txt, resolved
once by `sh requirements/refresh.sh` (docs/development.md). A dependency added or narrowed
in pyproject.toml without refreshing the locks fails here, naming it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.integration.test_readme import readme_command

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock_text: str) -> dict[str, str]:
    """Package name (canonical) to its locked version."""
    found = {}
    for line in lock_text.splitlines():
        match = PINNED.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements_in(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def wanted(pyproject_text: str, extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads(pyproject_text)["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


def disagreements(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    """Each requirement the lock leaves out, or pins outside the requirement's range."""
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(locked[name], prereleases=True):
            problems.append(f"{requirement}: the lock has {locked[name]}")
    return problems


TEST_EXTRAS = ("test", "bench", "postgres", "redis")
UV = LOCKS / "uv.txt"
SERVE = (LOCKS / "serve.txt", ("postgres", "redis"), ("build.in",))
TEST = (LOCKS / "test.txt", TEST_EXTRAS, ("build.in", "dev.in"))


@pytest.mark.parametrize(("lock", "extras", "inputs"), [SERVE, TEST], ids=["serve", "test"])
def test_lock_holds_every_requirement_of_pyproject(
    lock: Path, extras: tuple[str, ...], inputs: tuple[str, ...]
) -> None:
    requirements = wanted((ROOT / "pyproject.toml").read_text(), extras)
    for name in inputs:
        requirements += requirements_in(LOCKS / name)
    problems = disagreements(requirements, pins(lock.read_text()))
    assert problems == [], f"run `sh requirements/refresh.sh`: {problems}"


def test_a_dependency_added_without_refreshing_is_caught() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    grown = pyproject.replace("dependencies = [\n", 'dependencies = [\n    "leftpad>=1.0",\n', 1)
    narrowed = re.sub(r'"nh3>=[^"]*"', '"nh3>=999"', pyproject)
    locked = pins((LOCKS / "test.txt").read_text())
    assert disagreements(wanted(pyproject, TEST_EXTRAS), locked) == []
    assert disagreements(wanted(grown, TEST_EXTRAS), locked) == ["leftpad>=1.0 is not in the lock"]
    assert disagreements(wanted(narrowed, TEST_EXTRAS), locked) == [
        f"nh3>=999: the lock has {locked['nh3']}"
    ]


def test_serve_lock_is_the_test_lock_for_what_they_share() -> None:
    serve, test = pins((LOCKS / "serve.txt").read_text()), pins((LOCKS / "test.txt").read_text())
    assert {name: (version, test.get(name)) for name, version in serve.items()} == {
        name: (version, version) for name, version in serve.items()
    }


def test_the_installer_lock_is_the_test_lock_s_uv() -> None:
    """The test command installs uv from requirements/uv.txt, then the test lock with it."""
    installer, test = pins(UV.read_text()), pins((LOCKS / "test.txt").read_text())
    assert installer == {"uv": test["uv"]}


@pytest.mark.parametrize("lock", [SERVE[0], TEST[0], UV], ids=["serve", "test", "uv"])
def test_every_pin_carries_hashes(lock: Path) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    unhashed = [b.split()[0] for b in blocks if PINNED.match(b) and "--hash=sha256:" not in b]
    assert unhashed == []


@pytest.mark.parametrize(
    ("marker", "lock"), [("serve-command", "serve.txt"), ("test-command", "test.txt")]
)
def test_readme_commands_install_from_the_lock(marker: str, lock: str) -> None:
    command = readme_command(marker)
    assert f"--require-hashes -r requirements/{lock}" in command
    assert "--no-deps --no-build-isolation -e ." in command
    if lock == "test.txt":  # installed by the pinned uv, which pip installs first
        assert command.startswith(
            "python3 -m venv .venv && .venv/bin/pip install --no-compile --require-hashes"
            " -r requirements/uv.txt && .venv/bin/uv pip install --python .venv "
        )
