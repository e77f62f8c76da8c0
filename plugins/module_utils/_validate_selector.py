# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Label and field selector syntax, checked before a list request (the server's 400 names no option)."""

from __future__ import annotations

import re
from typing import List

from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_label_value, check_qualified_key, invalid

_LABEL_FORMS = "key, !key, key=value, key!=value, key in (a,b), key notin (a,b), key>1 or key<1"
_SET = re.compile(r"^(?P<key>[^\s=!<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(r"^(?P<key>[^\s=!<>(),]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)$")
_NUMERIC = re.compile(r"^(?P<key>[^\s=!<>(),]+)\s*(?P<op>[<>])\s*(?P<value>\S+)$")
_EXISTS = re.compile(r"^(?P<not>!\s*)?(?P<key>[^\s=!<>(),]+)$")
_FIELD = re.compile(r"^(?P<key>[A-Za-z0-9_.\-/]+)\s*(?:==|=|!=)\s*(?P<value>.*)$")


def _requirements(option: str, selector: str) -> List[str]:
    """Split at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or depth > 1:
            raise invalid(option, "has unbalanced parentheses: %r" % selector)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise invalid(option, "has unbalanced parentheses: %r" % selector)
    parts.append(current)
    return [part.strip() for part in parts]


def check_label_selector(option: str, selector: str) -> str:
    for requirement in _requirements(option, selector):
        if not requirement:
            raise invalid(option, "has an empty requirement (a stray comma?): %r" % selector)
        match = _SET.match(requirement) or _EQUALITY.match(requirement) or _NUMERIC.match(requirement) or _EXISTS.match(requirement)
        if not match:
            raise invalid(option, "%r is not a label selector requirement; use %s" % (requirement, _LABEL_FORMS))
        check_qualified_key(option, match.group("key"))
        groups = match.groupdict()
        if groups.get("values") is not None:
            values = [value.strip() for value in groups["values"].split(",")]
            if values == [""]:
                raise invalid(option, "%r needs at least one value in the parentheses" % requirement)
            for value in values:
                check_label_value("%s value" % option, value)
        elif groups.get("op") in ("<", ">"):
            if not re.match(r"^-?\d+$", groups["value"]):
                raise invalid(option, "%r compares with %s, which needs an integer value" % (requirement, groups["op"]))
        elif groups.get("value") is not None:
            check_label_value("%s value" % option, groups["value"])
    return selector


def check_field_selector(option: str, selector: str) -> str:
    for requirement in selector.split(","):
        if not _FIELD.match(requirement.strip()):
            raise invalid(option, "%r is not a field selector requirement; use field=value, field==value or "
                          "field!=value, for example metadata.name=my-vm" % requirement.strip())
    return selector
