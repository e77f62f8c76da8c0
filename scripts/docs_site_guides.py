# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put the repository's Markdown guides into the docsite source tree (scripts/docs-site.sh).

A link to another guide becomes a link to its page; a link to any other file of the repository
becomes a link to that file on GitHub (docs/docsite/links.yml names the repository); a link to a
path that does not exist fails the build, naming the page and the link.
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

# Source file -> page name under guides/, in the order of the site's navigation.
GUIDES = {
    "README.md": "overview",
    "tests/cluster/README.md": "test-cluster",
}
LINK = re.compile(r"(\]\()([^)\s]+)(\))|^(\[[^\]]+\]:\s*)(\S+)()", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)")


def guide_sources(root: pathlib.Path) -> dict:
    guides = dict(GUIDES)
    for page in sorted((root / "docs").glob("*.md")):
        if page.name != "README.md":  # docs/README.md is the repository's index of these pages
            guides[page.relative_to(root).as_posix()] = page.stem
    return guides


def rewrite_link(target: str, source: str, root: pathlib.Path, guides: dict, blob_url: str) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return target  # external URLs stay; anchors are checked by Sphinx (myst_heading_anchors)
    path, _sep, fragment = target.partition("#")
    resolved = (root / source).parent / path
    try:
        relative = resolved.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise LookupError("%s links outside the repository: %s" % (source, target)) from None
    anchor = "#" + fragment if fragment else ""
    if relative in guides:
        return guides[relative] + ".md" + anchor
    if not resolved.exists():
        raise LookupError("%s links to a missing file: %s" % (source, target))
    kind = "tree" if resolved.is_dir() else "blob"
    return "%s/%s/main/%s%s" % (blob_url, kind, relative, anchor)


def rewrite(text: str, source: str, root: pathlib.Path, guides: dict, blob_url: str, errors: list) -> str:
    lines, fenced = [], False
    for line in text.splitlines(keepends=True):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        if not fenced:
            line = LINK.sub(lambda match: _sub(match, source, root, guides, blob_url, errors), line)
        lines.append(line)
    return "".join(lines)


def _sub(match, source, root, guides, blob_url, errors) -> str:
    before, target, after = (match.group(1), match.group(2), match.group(3)) if match.group(1) else (match.group(4), match.group(5), "")
    try:
        return before + rewrite_link(target, source, root, guides, blob_url) + after
    except LookupError as error:
        errors.append(str(error))
        return match.group(0)


def main(root: pathlib.Path, rst: pathlib.Path) -> int:
    links = yaml.safe_load((root / "docs/docsite/links.yml").read_text(encoding="utf-8"))
    blob_url = "https://github.com/" + links["edit_on_github"]["repository"]
    guides = guide_sources(root)
    errors: list = []
    (rst / "guides").mkdir(exist_ok=True)
    for source, page in guides.items():
        text = (root / source).read_text(encoding="utf-8")
        (rst / "guides" / (page + ".md")).write_text(rewrite(text, source, root, guides, blob_url, errors), encoding="utf-8")
    pages = "\n".join("   guides/" + page for page in guides.values())
    (rst / "index.rst").write_text(
        "virt.kubevirt\n=============\n\n"
        "OpenShift Virtualization / KubeVirt as code: modules, a dynamic inventory and roles.\n\n"
        ".. toctree::\n   :maxdepth: 2\n   :caption: Guides:\n\n" + pages + "\n\n"
        ".. toctree::\n   :maxdepth: 2\n   :caption: Reference:\n\n   collections/index\n\n"
        ".. toctree::\n   :maxdepth: 1\n   :caption: Plugin indexes:\n   :glob:\n\n   collections/index_*\n\n"
        ".. toctree::\n   :maxdepth: 1\n   :caption: Reference indexes:\n\n   collections/environment_variables\n",
        encoding="utf-8",
    )
    for error in errors:
        print("error: broken link: " + error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
