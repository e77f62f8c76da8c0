#!/usr/bin/env bash
# Run one pytest suite against the built collection.
# Usage: pytest-stage.sh NAME DIR [pytest args...]
# Exits 5 (no tests) when DIR is missing or has no tests, else pytest's exit code.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

name="$1" dir="$2"
shift 2
if [[ ! -d "$dir" ]]; then
  exit_no_tests "$dir does not exist: no $name tests yet"
fi

# Import and run the collection as installed from the tarball (scripts/build.sh),
# not pytest-ansible's default symlink tree of the checkout.
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
mkdir -p "$CACHE/test-results"
exec python -m pytest "$dir" --ansible-unit-inject-only \
  --junitxml="$CACHE/test-results/$name.xml" "$@"
