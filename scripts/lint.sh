#!/usr/bin/env bash
# ansible-lint, profile production, as configured in .ansible-lint.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# --offline keeps ansible-lint off the network; it then does not install this
# collection itself, so expose the checkout as virt.kubevirt for playbooks that use it.
source_tree="$CACHE/lint/ansible_collections/virt"
mkdir -p "$source_tree"
ln -sfn "$ROOT" "$source_tree/kubevirt"
export ANSIBLE_COLLECTIONS_PATH="$CACHE/lint"

ansible-lint --offline
