"""Calls for a parser worker that report on the worker itself
(tests/integration/test_hostile_entries.py)."""

import os
import sys


def loaded_modules() -> list[str]:
    return sorted(sys.modules)


def pid() -> int:
    return os.getpid()
