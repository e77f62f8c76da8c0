# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Declarative "make it so" on top of the resource client: compare, preview, then apply.

Every change is first sent as a server-side dry run. The API server and its admission webhooks
validate it there (unknown fields, schema, missing instancetypes...), so a rejected change never
reaches storage as a write, and a change the server would turn into a no-op is not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._diff import has_difference
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared, carry_forward, needs_apply
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef


@dataclass
class ApplyOutcome:
    changed: bool
    before: Optional[Dict[str, Any]]
    after: Optional[Dict[str, Any]]

    @property
    def method(self) -> str:
        if not self.changed:
            return "none"
        return "create" if self.before is None else "update"


def ensure_applied(
    client: Any,
    ref: ResourceRef,
    desired: Dict[str, Any],
    namespace: Optional[str] = None,
    declared: Optional[Declared] = None,
) -> ApplyOutcome:
    """Server-side apply ``desired`` if, and only if, it changes the live object.

    ``declared`` None: ``desired`` is the whole truth, fields we applied before and no longer
    send are removed. Otherwise only the ``declared`` paths are; everything else we own keeps
    its live value (see carry_forward).
    Unchanged objects cost one GET. In check mode (a dry-run client) the preview is the answer.
    """
    name = desired["metadata"]["name"]
    live = client.get(ref, name, namespace)
    if declared is not None:
        desired = carry_forward(live, client.field_manager, desired, declared)
    if not needs_apply(desired, live, client.field_manager):
        return ApplyOutcome(False, live, live)
    preview = client.apply(ref, desired, namespace, dry_run=True)
    if live is not None and not has_difference(live, preview):
        return ApplyOutcome(False, live, live)
    if client.dry_run:
        return ApplyOutcome(True, live, preview)
    return ApplyOutcome(True, live, client.apply(ref, desired, namespace))
