"""Kubernetes resource quantities as the storage controllers need them (bytes in, canonical out).

``parse_bytes`` accepts what ``resource.ParseQuantity`` accepts for storage (``20Gi``, ``1G``,
``1.5Gi``, ``500M``, ``21474836480``, ``1e3``) and rounds fractional bytes up, as apimachinery
does when a quantity is read with ``Value()``. ``format_binary`` / ``format_decimal`` render the
canonical string apiserver would store for a byte count.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")

MiB = 1 << 20
GiB = 1 << 30


def parse_bytes(value: str | int | float | None) -> int | None:
    """Bytes of a quantity (rounded up), or None when absent or malformed."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return math.ceil(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    number, suffix, exponent = match.groups()
    amount = Fraction(number)
    if suffix in _BINARY:
        amount *= _BINARY[suffix]
    elif suffix:
        amount *= _DECIMAL[suffix]
    elif exponent:
        amount *= Fraction(10) ** int(exponent)
    return math.ceil(amount)


def format_binary(n: int) -> str:
    """Canonical BinarySI form: ``21607Mi``, ``20Gi``, or plain bytes when not a whole unit."""
    if n == 0:
        return "0"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def format_decimal(n: int) -> str:
    """Canonical DecimalSI form (``resource.NewScaledQuantity(n, 0)``): ``22655952487``, ``5G``."""
    if n == 0:
        return "0"
    for suffix in ("E", "P", "T", "G", "M", "k"):
        unit = int(_DECIMAL[suffix])
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit
