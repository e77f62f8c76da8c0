# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes resource.Quantity syntax checks, so a typo fails before anything is sent."""

from __future__ import annotations

import re
from typing import Any

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
