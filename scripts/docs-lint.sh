#!/usr/bin/env bash
# Lint extra docs (docs/docsite) and every plugin's DOCUMENTATION/EXAMPLES/RETURN markup.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent .
