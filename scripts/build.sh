#!/usr/bin/env bash
# Build the collection tarball and install it into .cache/collections.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

dist="$CACHE/dist"
rm -rf "$dist" "$COLLECTIONS_DIR/ansible_collections/virt/kubevirt"
mkdir -p "$dist" "$COLLECTIONS_DIR"
ansible-galaxy collection build --force --output-path "$dist" .
tarball="$(ls "$dist"/virt-kubevirt-*.tar.gz)"
ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR" ansible-galaxy collection install --offline --force -p "$COLLECTIONS_DIR" "$tarball"
log "installed $(basename "$tarball") into $COLLECTIONS_DIR"
