# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.virt.kubevirt`` importable from a plain checkout.

pytest-ansible already does this when it runs from the repo root (a ``collections/`` symlink
tree) or with ``--ansible-unit-inject-only`` (the installed tarball). Anywhere else (another
working directory, ``-p no:ansible``) fall back to a temporary symlink tree on ``sys.path``.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

_PROBE = "ansible_collections.virt.kubevirt.plugins.module_utils._errors"
_CHECKOUT = Path(__file__).resolve().parents[2]


def _importable() -> bool:
    try:
        importlib.import_module(_PROBE)
    except ImportError:
        return False
    return True


def _link_checkout() -> None:
    root = Path(tempfile.mkdtemp(prefix="virt-kubevirt-unit-"))
    atexit.register(shutil.rmtree, root, True)
    namespace_dir = root / "ansible_collections" / "virt"
    namespace_dir.mkdir(parents=True)
    (namespace_dir / "kubevirt").symlink_to(_CHECKOUT, target_is_directory=True)
    sys.path.insert(0, str(root))
    for name in [mod for mod in sys.modules if mod == "ansible_collections" or mod.startswith("ansible_collections.")]:
        del sys.modules[name]
    try:
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    except ImportError:  # pragma: no cover - ansible-core always ships it
        return
    # An installed collection finder owns ``ansible_collections``: give it our tree too.
    finder = _AnsibleCollectionFinder(paths=[str(root)])
    finder._install()  # pylint: disable=protected-access


if not _importable():
    _link_checkout()
