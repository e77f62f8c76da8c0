# shellcheck shell=bash
# Shared settings for the scripts in this folder; source it, do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/versions.sh
source "$ROOT/scripts/versions.sh"
VENV="${VENV:-$ROOT/.venv}"
# VIRT_KUBEVIRT_CACHE lets several checkouts or runs of the same tree keep apart build outputs.
CACHE="${VIRT_KUBEVIRT_CACHE:-$ROOT/.cache}"
# JUnit XML of every pytest stage; the compat stages build into their own CACHE but report here.
export VIRT_KUBEVIRT_RESULTS="${VIRT_KUBEVIRT_RESULTS:-$CACHE/test-results}"
export COLLECTIONS_DIR="$CACHE/collections"   # where the built tarball is installed
export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"   # discovery may pick a broken shim

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# A stage that found nothing to check exits 5 (pytest's code); scripts/test.sh
# reports it as NO TESTS and fails the run.
exit_no_tests() { log "$*"; exit 5; }
# A stage that does not apply yet exits 77 (automake's code for "skipped").
exit_skipped() { log "$*"; exit 77; }
# A stage that cannot test a Python of the matrix exits 78; scripts/test.sh shows its note
# (e.g. "MISSING python3.12") and fails the run unless VIRT_KUBEVIRT_ALLOW_MISSING_PYTHON=1.
# shellcheck disable=SC2034  # used by the scripts that source this file
EXIT_MISSING_PYTHON=78
# stage_note TEXT: a short word for the RESULT column of scripts/test.sh's table.
stage_note() {
  log "NOTE: $*"
  if [[ -n "${VIRT_KUBEVIRT_STATUS_FILE:-}" ]]; then printf '%s\n' "$*" >> "$VIRT_KUBEVIRT_STATUS_FILE"; fi
}
# missing_python X.Y [WHY]: note it loudly; the caller exits $EXIT_MISSING_PYTHON.
missing_python() {
  stage_note "MISSING python$1"
  printf '\n!!! python%s not found on PATH or under pyenv: %s\n!!! install it, or set VIRT_KUBEVIRT_ALLOW_MISSING_PYTHON=1 to accept the gap\n\n' \
    "$1" "${2:-it is part of the tested matrix (scripts/versions.sh)}" >&2
}

# find_python X.Y: print the path of a real python X.Y interpreter, from PATH or pyenv
# (never a pyenv shim, which may point at another version). Fails when there is none.
find_python() {
  local want="$1" candidate
  for candidate in "$(command -v "python$want" 2>/dev/null || true)" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/"python$want"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    # Print the base interpreter itself: a shim on PATH may resolve to another version
    # later, and a venv's python (ours is first on PATH) may be deleted and recreated.
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      "$candidate" -c "import os, sys; print(sys.executable if sys.prefix == sys.base_prefix else os.path.join(sys.base_prefix, 'bin', 'python$want'))"
      return 0
    fi
  done
  return 1
}
