# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM's power: its run strategy, and a restart through virt-api's subresource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import RUNNING_STRATEGIES
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE_INSTANCE, VIRTUAL_MACHINE_SUBRESOURCES

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run_strategy_of(vm: Optional[Dict[str, Any]]) -> Optional[str]:
    return ((vm or {}).get("spec") or {}).get("runStrategy")


def request_restart(module: "KubevirtModule", live: Dict[str, Any], applied: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Ask virt-api for a restart; returns the VMI seen before it (None if there was none)."""
    p = module.params
    client = module.client
    vmi = client.get(VIRTUAL_MACHINE_INSTANCE, p["name"], p["namespace"])
    started_by_apply = (
        vmi is None
        and run_strategy_of(applied) in RUNNING_STRATEGIES
        and run_strategy_of(live) not in RUNNING_STRATEGIES
    )
    if started_by_apply:
        return None
    client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, p["name"], "restart", p["namespace"])
    return vmi or {}
