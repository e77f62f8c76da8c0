# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes resource.Quantity syntax checks, so a typo fails before anything is sent."""

from __future__ import annotations

import re
from typing import Any, Optional

# <signedNumber><suffix>, suffix binary (Ki..Ei), decimal (m, k, M..E) or decimal exponent.
_QUANTITY = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")


def is_quantity(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value >= 0
    # fullmatch, not strip(): "1Gi\n" would be sent as is and fail on the server.
    return isinstance(value, str) and bool(_QUANTITY.fullmatch(value)) and not value.startswith("-")


def quantity_error(option: str, value: Any) -> str:
    return (
        "%s: %r is not a valid Kubernetes quantity; use a number with an optional suffix "
        "such as 512Mi, 2Gi or 20G" % (option, value)
    )


# Suffix multipliers of resource.Quantity (binary and decimal SI).
_MULTIPLIERS = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
                "m": 0.001, "": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_PARTS = re.compile(r"^[+]?((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([KMGTPE]i|[mkMGTPE]?)$")


def quantity_value(value: Any) -> Optional[float]:
    """The number a valid quantity stands for ("1Gi" -> 1073741824.0), None when it is not one:
    sizes are compared by value, as the API server does, not by spelling."""
    if not is_quantity(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _PARTS.match(value)
    if match is None:
        return None
    return float(match.group(1)) * _MULTIPLIERS[match.group(2)]
