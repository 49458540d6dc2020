"""The order the workers take the modules in (tests/conftest.py): the costliest first, so
that no long module is left to run alone at the end of the suite."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import longest_modules_first, pytest_xdist_auto_num_workers


@dataclass
class _Item:
    path: Path
    name: str
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


def _order(items: list[_Item]) -> list[str]:
    as_items = cast(list[pytest.Item], items)
    longest_modules_first(as_items)
    return [f"{item.path.stem}::{item.name}" for item in cast(list[Any], as_items)]


def test_a_long_test_s_module_goes_before_many_quick_tests() -> None:
    quick = [_Item(Path("tests/unit/test_many.py"), f"t{i}") for i in range(200)]
    browser = [_Item(Path("tests/browser/test_page.py"), f"b{i}", {"browser"}) for i in range(3)]
    long = [_Item(Path("tests/integration/test_clone.py"), "fresh", {"slow", "long"})]
    order = _order(quick + browser + long)
    assert order[0] == "test_clone::fresh"
    assert order[1:4] == ["test_page::b0", "test_page::b1", "test_page::b2"]
    assert order[4:] == [f"test_many::t{i}" for i in range(200)]


def test_modules_of_equal_cost_keep_their_order_and_their_tests_together() -> None:
    first = [_Item(Path("tests/unit/test_a.py"), n) for n in ("x", "y")]
    second = [_Item(Path("tests/unit/test_b.py"), n) for n in ("x", "y")]
    assert _order(first + second) == ["test_a::x", "test_a::y", "test_b::x", "test_b::y"]


def test_the_suite_runs_that_order_with_two_workers_per_core(
    pytestconfig: pytest.Config,
) -> None:
    assert pytest_xdist_auto_num_workers(pytestconfig) >= 2
    # xdist's own reordering (by number of tests) would undo the order above.
    assert "--no-loadscope-reorder" in str(pytestconfig.getini("addopts"))
