#!/usr/bin/env bash
# Run the molecule scenarios of every role that has them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

shopt -s nullglob
roles=()
for scenario_dir in roles/*/molecule/; do
  roles+=("$(dirname "$scenario_dir")")
done
if ((${#roles[@]} == 0)); then
  exit_skipped "no role has molecule scenarios yet"
fi

export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
for role in "${roles[@]}"; do
  log "molecule test --all in $role"
  (cd "$role" && molecule test --all)
done
