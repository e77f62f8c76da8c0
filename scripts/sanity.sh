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
# stand-in bootstraps pip with ensurepip and installs from the package index.
get_pip="$ROOT/../shared/tools/ansible-test/get_pip_24_2.py"
if [[ -f "$get_pip" ]]; then
  mkdir -p ~/.ansible/test/cache
  cp "$get_pip" ~/.ansible/test/cache/get_pip_24_2.py
fi

# Tracked and new (not ignored) files, minus the dev-only local cluster, copied
# outside the checkout: inside it, ansible-test would list files with the
# checkout's git and find none.
work="$(mktemp -d "${TMPDIR:-/tmp}/virt-kubevirt-sanity.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tree="$work/ansible_collections/virt/kubevirt"
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do
      case "$file" in tests/cluster/* | conftest.py) continue ;; esac
      if [[ -e "$file" || -L "$file" ]]; then printf '%s\0' "$file"; fi
    done \
  | tar --null --files-from=- -cf - | tar -xf - -C "$tree"

cd "$tree"
ansible-test sanity --venv --python 3.11 --color no "$@"
