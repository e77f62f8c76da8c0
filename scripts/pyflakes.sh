#!/usr/bin/env bash
# pyflakes on the dev-only Python that ansible-test sanity does not see (the local test cluster
# and the repo-root conftest): undefined names and dead code fail the stage.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

python -m pyflakes tests/cluster conftest.py
