#!/bin/sh
# Resolve pyproject.toml's dependencies into the two locks the README's commands install:
#   requirements/serve.txt  the service: runtime dependencies with the postgres and redis
#                           extras (so one install also scales out), and the build backend
#   requirements/test.txt   the suite: all that, the test and bench extras, and uv
#   requirements/uv.txt     uv alone, at the test lock's version: pip installs it first, and
#                           uv installs the test lock
# Versions already in a lock are kept unless `--upgrade` (or `--upgrade-package NAME`) is
# given, so adding one dependency moves nothing else. The serve lock is resolved within the
# test lock: both install the same version of every package they share.
set -eu
cd "$(dirname "$0")/.."
uv="${UV:-.venv/bin/uv}"
[ -x "$uv" ] || uv=uv
flags="--universal --python-version 3.11 --generate-hashes --quiet"
export UV_CUSTOM_COMPILE_COMMAND="sh requirements/refresh.sh"
# shellcheck disable=SC2086
"$uv" pip compile $flags "$@" pyproject.toml requirements/build.in requirements/dev.in \
    --extra postgres --extra redis --extra test --extra bench -o requirements/test.txt
# shellcheck disable=SC2086
"$uv" pip compile $flags pyproject.toml requirements/build.in \
    --extra postgres --extra redis -c requirements/test.txt -o requirements/serve.txt
# shellcheck disable=SC2086
"$uv" pip compile $flags requirements/uv.in -c requirements/test.txt -o requirements/uv.txt
