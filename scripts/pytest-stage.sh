#!/usr/bin/env bash
# Run one pytest suite against the built collection.
# Usage: pytest-stage.sh NAME DIR... [pytest args...]
# Exits 5 (no tests) when DIR is missing or has no tests, else pytest's exit code.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# DIR may be several folders, given before the pytest args (which start with "-").
name="$1"
shift
dirs=()
while (($#)) && [[ $1 != -* ]]; do dirs+=("$1"); shift; done
for dir in "${dirs[@]}"; do
  if [[ ! -e "$dir" ]]; then
    exit_no_tests "$dir does not exist: no $name tests yet"
  fi
done

# Import and run the collection as installed from the tarball (scripts/build.sh),
# not pytest-ansible's default symlink tree of the checkout.
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
mkdir -p "$VIRT_KUBEVIRT_RESULTS"
exec python -m pytest "${dirs[@]}" --ansible-unit-inject-only \
  --junitxml="$VIRT_KUBEVIRT_RESULTS/$name.xml" "$@"
