#!/usr/bin/env bash
# Stage compat-CORE: the unit and integration tests on another supported ansible-core,
# in its own venv (.venv-CORE, scripts/venv.sh CORE) and build folder, so the main
# venv's results and tarball are never touched.
# Usage: scripts/compat.sh CORE [pytest args...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

core="${1:?usage: scripts/compat.sh CORE [pytest args...]}"
shift
rc=0
"$ROOT/scripts/venv.sh" "$core" || rc=$?
if ((rc)); then exit "$rc"; fi

export VENV="$ROOT/.venv-$core"
export VIRT_KUBEVIRT_CACHE="$CACHE/compat-$core"
export PATH="$VENV/bin:$PATH"
log "ansible-core $(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p') on $(python -c 'import platform; print("Python", platform.python_version())')"
"$ROOT/scripts/build.sh"
exec "$ROOT/scripts/pytest-stage.sh" "compat-$core" tests/unit tests/integration "$@"
