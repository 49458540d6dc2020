"""The test suite. Imported before any conftest or test module."""

import os
import sys

# The suite starts hundreds of interpreters (xdist workers, servers, command-line runs,
# benchmark scripts) that import feedhub and the test modules. Without bytecode caches each
# one compiles feedhub from source again (0.15 s of CPU each), and every worker rewrites and
# compiles every test module's asserts again (collection: 8.7 s of CPU a worker, 4.3 s with
# the caches). The caches go where Python puts them (`__pycache__`, ignored by git),
# whatever PYTHONDONTWRITEBYTECODE says.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
