# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Label and field selector syntax, checked before a list request (the server's 400 names no option)."""

from __future__ import annotations

import re

from ansible_collections.virt.kubevirt.plugins.module_utils._label_selector import SelectorError
from ansible_collections.virt.kubevirt.plugins.module_utils._label_selector import check_label_selector as parse_label_selector
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

_FIELD = re.compile(r"^(?P<key>[A-Za-z0-9_.\-/]+)\s*(?:==|=|!=)\s*(?P<value>.*)$")


def check_label_selector(option: str, selector: str) -> str:
    """The API server's grammar (_label_selector.py, shared with the inventory plugin)."""
    try:
        parse_label_selector(selector)
    except SelectorError as exc:
        raise invalid(option, "%r is not a valid label selector: %s" % (selector, exc)) from None
    return selector


def check_field_selector(option: str, selector: str) -> str:
    for requirement in selector.split(","):
        if not _FIELD.match(requirement.strip()):
            raise invalid(option, "%r is not a field selector requirement; use field=value, field==value or "
                          "field!=value, for example metadata.name=my-vm" % requirement.strip())
    return selector
