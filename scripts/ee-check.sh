#!/usr/bin/env bash
# Check that ansible-builder accepts the collection's execution-environment metadata
# (meta/execution-environment.yml): `ansible-builder create` writes a build context for an EE
# holding the built tarball (no container engine needed), and `ansible-builder introspect`
# of the installed collection lists exactly the Python requirements of requirements.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

tarball="$(ls "$CACHE"/dist/virt-kubevirt-*.tar.gz 2>/dev/null || true)"
if [[ -z "$tarball" ]]; then "$ROOT/scripts/build.sh"; tarball="$(ls "$CACHE"/dist/virt-kubevirt-*.tar.gz)"; fi
work="$CACHE/ee"
rm -rf "$work"
mkdir -p "$work"
cat > "$work/execution-environment.yml" <<EOF
---
version: 3
images:
  base_image:
    name: quay.io/fedora/fedora:latest
dependencies:
  ansible_core:
    package_pip: ansible-core>=2.19
  ansible_runner:
    package_pip: ansible-runner
  galaxy:
    collections:
      - name: /build/collections/$(basename "$tarball")
        type: file
additional_build_files:
  - src: $tarball
    dest: collections
additional_build_steps:
  prepend_galaxy:
    - COPY _build/collections /build/collections
EOF
ansible-builder create --file "$work/execution-environment.yml" --context "$work/context" --output-filename Containerfile
grep -q "$(basename "$tarball")" "$work/context/_build/requirements.yml" || die "the build context does not install $(basename "$tarball")"
test -f "$work/context/_build/collections/$(basename "$tarball")" || die "the build context lacks the tarball"

# What the EE build will pip-install for this collection (ansible-core's own needs removed).
ansible-builder introspect --sanitize "$COLLECTIONS_DIR" | tee "$work/introspect.yml"
python - "$work/introspect.yml" requirements.txt <<'EOF'
import re, sys, yaml
found = {re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower() for line in yaml.safe_load(open(sys.argv[1]))["python"]}
wanted = {re.split(r"[<>=!~ ]", line.strip(), maxsplit=1)[0].lower() for line in open(sys.argv[2]) if line.strip() and not line.startswith("#")}
wanted -= {"pyyaml"}  # ansible-core's own requirement: --sanitize leaves it out
missing = wanted - found
if missing:
    sys.exit("error: ansible-builder introspect does not list %s from requirements.txt" % ", ".join(sorted(missing)))
print("==> ansible-builder sees the requirements: %s" % ", ".join(sorted(found)))
EOF
