#!/usr/bin/env bash
# ansible-test sanity with zero ignores, on a copy of the checkout laid out as
# ansible_collections/virt/kubevirt/ (ansible-test only runs from such a tree).
# Extra args go to ansible-test, e.g. `scripts/sanity.sh --test pylint`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

shopt -s nullglob
ignores=(tests/sanity/ignore-*.txt)
if ((${#ignores[@]})); then
  die "sanity ignore files are not allowed: ${ignores[*]}"
fi

# ansible-test downloads get-pip from a host that may be unreachable; the shared
# stand-in (it bootstraps pip with ensurepip and installs from the package index, whatever
# pip version is asked) is put in the cache under the name this ansible-test looks for.
get_pip="$ROOT/../shared/tools/ansible-test/get_pip_24_2.py"
if [[ -f "$get_pip" ]]; then
  pip_version="$(python - <<'PY'
import pathlib, re, ansible_test
source = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
print(re.search(r"pip='([0-9.]+)'", source.read_text()).group(1).replace('.', '_'))
PY
)"
  mkdir -p ~/.ansible/test/cache
  for name in 24_2 "$pip_version"; do cp "$get_pip" ~/.ansible/test/cache/"get_pip_$name.py"; done
fi

# ansible-test finds target Pythons as pythonX.Y on PATH; pyenv's shims there may run
# another version, so real interpreters go first. The controller is this venv's Python.
pythons="$(mktemp -d "${TMPDIR:-/tmp}/virt-kubevirt-pythons.XXXXXX")"
missing=()
# VIRT_KUBEVIRT_SANITY_PYTHONS (space-separated) replaces the list, for scripts/compat.sh.
if [[ -n "${VIRT_KUBEVIRT_SANITY_PYTHONS:-}" ]]; then read -r -a SANITY_PYTHONS <<< "$VIRT_KUBEVIRT_SANITY_PYTHONS"; fi
for version in "${SANITY_PYTHONS[@]}"; do
  if interpreter="$(find_python "$version")"; then
    ln -s "$interpreter" "$pythons/python$version"
  else
    missing+=("$version")
  fi
done
export PATH="$VENV/bin:$pythons:$PATH"
untested="$(python -c 'from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS as c, REMOTE_ONLY_PYTHON_VERSIONS as r; print(*r, *c)')"
[[ -z "${VIRT_KUBEVIRT_SANITY_PYTHONS:-}" ]] || untested=""
for version in $untested; do
  if [[ ! " ${SANITY_PYTHONS[*]} " == *" $version "* ]]; then stage_note "UNTESTED python$version"; fi
done

# Tracked and new (not ignored) files, minus the dev-only local cluster, copied
# outside the checkout: inside it, ansible-test would list files with the
# checkout's git and find none.
work="$(mktemp -d "${TMPDIR:-/tmp}/virt-kubevirt-sanity.XXXXXX")"
trap 'rm -rf "$work" "$pythons"' EXIT
tree="$work/ansible_collections/virt/kubevirt"
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do
      case "$file" in tests/cluster/* | conftest.py) continue ;; esac
      if [[ -e "$file" || -L "$file" ]]; then printf '%s\0' "$file"; fi
    done \
  | tar --null --files-from=- -cf - | tar -xf - -C "$tree"

cd "$tree"
# No --python: the multi-version tests (compile, import) run on every target Python found.
ansible-test sanity --venv --color no "$@"
if ((${#missing[@]})); then
  for version in "${missing[@]}"; do missing_python "$version" "sanity's compile and import tests run on it"; done
  exit "$EXIT_MISSING_PYTHON"
fi
