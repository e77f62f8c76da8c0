#!/usr/bin/env bash
# Stage compat-CORE: the unit and integration tests on another supported ansible-core, and
# sanity's compile and import tests on the target Pythons only that core allows,
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
"$ROOT/scripts/pytest-stage.sh" "compat-$core" tests/unit tests/integration "$@"
for version in ${COMPAT_SANITY_PYTHONS[$core]:-}; do
  log "sanity compile + import on target Python $version (ansible-core $core's ansible-test)"
  VIRT_KUBEVIRT_SANITY_PYTHONS="$version" "$ROOT/scripts/sanity.sh" --test compile --test import --python "$version"
done
