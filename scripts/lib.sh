# shellcheck shell=bash
# Shared settings for the scripts in this folder; source it, do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# VIRT_KUBEVIRT_CACHE lets several checkouts or runs of the same tree keep apart build outputs.
CACHE="${VIRT_KUBEVIRT_CACHE:-$ROOT/.cache}"
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

# find_python X.Y: print the path of a real python X.Y interpreter, from PATH or pyenv
# (never a pyenv shim, which may point at another version). Fails when there is none.
find_python() {
  local want="$1" candidate
  for candidate in "$(command -v "python$want" 2>/dev/null || true)" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/"python$want"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
