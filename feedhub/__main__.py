"""`python -m feedhub` is the `feedhub` command."""

import sys

from feedhub.cli import main

sys.exit(main())
