# shellcheck shell=bash
# Shared settings for the scripts in this folder; source it, do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
CACHE="$ROOT/.cache"
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
