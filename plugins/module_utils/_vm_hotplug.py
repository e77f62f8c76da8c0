# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hot-plugged disks survive a ``vm`` task that declares the VM's disks.

KubeVirt's volume and disk lists are atomic, so applying O(disks) replaces them whole. A disk
plugged into the running VM (``virt.kubevirt.vm_disk``, ``virtctl addvolume --persist``, or a
``hotpluggable: true`` volume) is not something the ``vm`` task describes: it is kept, with its
disk, unless the task names it.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._disk_hotplug import is_hotpluggable


def _template_spec(vm: Mapping[str, Any]) -> Dict[str, Any]:
    return (((vm.get("spec") or {}).get("template") or {}).get("spec")) or {}


def _named(items: Any) -> List[Dict[str, Any]]:
    return [item for item in items or [] if isinstance(item, dict) and item.get("name")]


def keep_hotplugged(live: Optional[Mapping[str, Any]], desired: Dict[str, Any]) -> Dict[str, Any]:
    """``desired`` with the live hot-plugged volumes (and their disks) it does not name."""
    if live is None:
        return desired
    want = _template_spec(desired)
    if "volumes" not in want:
        return desired  # the task leaves the volumes alone: nothing of them is replaced
    have = _template_spec(live)
    named = {item["name"] for item in _named(want.get("volumes"))}
    plugged = [v for v in _named(have.get("volumes")) if v["name"] not in named and is_hotpluggable(v)]
    if not plugged:
        return desired
    out = copy.deepcopy(desired)
    spec = _template_spec(out)
    spec["volumes"] = list(spec.get("volumes") or []) + copy.deepcopy(plugged)
    names = {v["name"] for v in plugged}
    live_disks = [d for d in _named(((have.get("domain") or {}).get("devices") or {}).get("disks")) if d["name"] in names]
    if live_disks:
        devices = spec.setdefault("domain", {}).setdefault("devices", {})
        declared = {d["name"] for d in _named(devices.get("disks"))}
        devices["disks"] = list(devices.get("disks") or []) + [copy.deepcopy(d) for d in live_disks if d["name"] not in declared]
    return out
