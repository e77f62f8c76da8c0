#!/usr/bin/env bash
# `make docs-site`: the HTML docsite of the built collection (antsibull-docs + Sphinx) with the
# README guides, in $CACHE/docs-site/build/html. Fails on any Sphinx warning, so a broken
# reference (a plugin doc's L()/M()/O(), a guide's link to a missing page, file or heading) is
# an error. Runs offline: no remote intersphinx inventories.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

site="$CACHE/docs-site"
rm -rf "$site"
mkdir -p "$site/rst"
chmod 700 "$site" "$site/rst"   # antsibull-docs wants its folders writable by their owner only

# Derived from what `antsibull-docs sphinx-init` writes; MyST reads the Markdown guides.
cat > "$site/conf.py" <<'EOF'
project = 'virt.kubevirt'
copyright = 'virt.kubevirt contributors'
html_short_title = 'virt.kubevirt'
extensions = ['sphinx_antsibull_ext', 'myst_parser', 'sphinx.ext.intersphinx']
# Written by scripts/docs_site_inventory.py: the docs.ansible.com pages our pages link to.
intersphinx_mapping = {'ansible': ('https://docs.ansible.com/projects/ansible/latest/', '../ansible.inv')}  # relative to the source folder
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
myst_heading_anchors = 4
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'
html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = 'any'
nitpicky = True
EOF

# The collection as users install it (scripts/build.sh), documented from that tree.
ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR" antsibull-docs collection \
  --use-current --dest-dir "$site/rst" --cleanup everything virt.kubevirt

# The guides: Markdown pages of the repository, their links rewritten for the site.
python "$ROOT/scripts/docs_site_guides.py" "$ROOT" "$site/rst"

python "$ROOT/scripts/docs_site_inventory.py" "$site/rst" "$site/ansible.inv"

sphinx-build -W --keep-going -q -b html -c "$site" "$site/rst" "$site/build/html"
log "docsite: $site/build/html/index.html"
