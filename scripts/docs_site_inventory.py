# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an intersphinx inventory of the docs.ansible.com pages our docs refer to (docs-site.sh).

The build runs offline, so Sphinx cannot download the Ansible docsite's objects.inv. References
from the generated plugin pages to other collections' plugins, to Ansible's reference appendices
and to ansible-core's environment variables are listed here with their docs.ansible.com address,
so they become real links and everything else that does not resolve stays a build error.
"""

from __future__ import annotations

import pathlib
import re
import sys
import zlib

BASE = "https://docs.ansible.com/projects/ansible/latest/"
OURS = "ansible_collections.virt.kubevirt."
# Labels of the Ansible docsite that antsibull-docs' templates use.
PAGES = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
    "list_of_collections": "collections/index.html",
    # "This module has a corresponding action plugin" on every module page.
    "action_plugins": "plugins/action.html",
}
PLUGIN_LABEL = re.compile(r"^ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+)_([a-z]+)$")
ROLE = re.compile(r":(ref|envvar):`(?:[^`<]*<)?([^`>]+)>?`")


def references(rst: pathlib.Path) -> set:
    found = set()
    for page in rst.rglob("*.rst"):
        for role, target in ROLE.findall(page.read_text(encoding="utf-8")):
            found.add((role, target.replace("\\_", "_")))
    return found


def entry(role: str, target: str):
    if role == "envvar" and target.startswith("ANSIBLE_"):
        return "%s std:envvar -1 reference_appendices/config.html#envvar-$ -" % target
    if role == "ref" and target in PAGES:
        return "%s std:label -1 %s -" % (target, PAGES[target])
    match = PLUGIN_LABEL.match(target)
    if role == "ref" and match and not target.startswith(OURS):
        namespace, name, plugin, kind = match.groups()
        return "%s std:label -1 collections/%s/%s/%s_%s.html -" % (target, namespace, name, plugin, kind)
    return None


def main(rst: pathlib.Path, out: pathlib.Path) -> int:
    lines = sorted(filter(None, (entry(role, target) for role, target in references(rst))))
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: latest\n# The remainder of this file is compressed using zlib.\n"
    out.write_bytes(header.encode() + zlib.compress(("\n".join(lines) + "\n").encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
