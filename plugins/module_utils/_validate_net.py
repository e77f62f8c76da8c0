# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of network input (addresses, CIDRs, Linux interface names, VLAN ids), run before any request.

Like _validate.py, each check raises ``invalid(option, message)`` naming the option or field path.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Union

from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_int_range, invalid

# The kernel's IFNAMSIZ is 16 bytes including the terminating NUL.
IFNAME_MAX = 15
# dev_valid_name(): no '/', ':' or whitespace, not "." or "..".
_IFNAME_BAD = re.compile(r"[/:\s]")

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def check_interface_name(option: str, value: Any) -> str:
    """A Linux network device name as the kernel accepts it (at most 15 characters)."""
    if not isinstance(value, str) or not value:
        raise invalid(option, "must be a non-empty interface name, got %r" % (value,))
    if len(value) > IFNAME_MAX:
        raise invalid(option, "%r is %d characters long; Linux interface names have at most %d"
                      % (value, len(value), IFNAME_MAX))
    if value in (".", "..") or _IFNAME_BAD.search(value):
        raise invalid(option, "%r is not a valid interface name (no '/', ':' or spaces)" % value)
    return value


def check_vlan_id(option: str, value: Any, low: int = 1) -> int:
    """An 802.1Q VLAN id: 1..4094 (``low`` 0 where the plugin reads 0 as untagged)."""
    return check_int_range(option, value, low, 4094)


def check_ip(option: str, value: Any) -> str:
    """An IPv4 or IPv6 address without prefix."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise invalid(option, "%r is not an IP address" % (value,))


def parse_cidr(option: str, value: Any, host_bits: bool = True) -> Network:
    """``value`` as a network; ``host_bits`` False refuses 10.0.0.1/24 (a network must be written as such)."""
    text = str(value).strip() if isinstance(value, str) else None
    if not text or "/" not in text:
        raise invalid(option, "%r is not a CIDR such as 192.168.10.0/24" % (value,))
    try:
        return ipaddress.ip_network(text, strict=not host_bits)
    except ValueError as exc:
        raise invalid(option, "%r is not a valid CIDR (%s)" % (value, exc))


def check_cidr(option: str, value: Any, host_bits: bool = True) -> str:
    """A CIDR such as 192.168.10.0/24 or fd00::/64, returned as written (trimmed)."""
    parse_cidr(option, value, host_bits)
    return str(value).strip()


def check_interface_address(option: str, value: Any) -> str:
    """An address with its prefix (10.1.1.5/24), as static IPAM and nmstate take them."""
    text = check_cidr(option, value, host_bits=True)
    try:
        ipaddress.ip_interface(text)
    except ValueError as exc:  # pragma: no cover - parse_cidr already refused it
        raise invalid(option, "%r is not an address with prefix (%s)" % (value, exc))
    return text
