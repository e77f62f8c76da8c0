#!/usr/bin/env bash
# Lint the changelog fragments and changelogs/changelog.yaml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
log "changelog OK"
