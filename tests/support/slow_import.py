"""A module that takes 1.5 s to import, as feedhub's parser does in a cold worker on a
loaded machine (tests/integration/test_hostile_entries.py)."""

import time

time.sleep(1.5)


def answer() -> int:
    return 42
