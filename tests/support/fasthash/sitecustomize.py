"""Test servers hash passwords at scrypt n=2**12 instead of the production 2**17.

A hash at 2**17 takes about half a second of CPU, and a sign-in against a real `feedhub
serve` pays it twice (the check, then the app key): over the suite's hundreds of sign-ins
that is minutes. Python imports this module at start-up when its folder is on PYTHONPATH,
which `tests.support.server.feedhub_env` arranges for every process it starts; the
in-process tests lower the same constant with a fixture (tests/integration/readers/
conftest.py). tests/integration/readers/test_accounts.py checks the production parameters.
"""

import os

if os.environ.get("FEEDHUB_TEST_FAST_PASSWORDS") == "1":
    from feedhub.readers import passwords

    passwords.N = 2**12
