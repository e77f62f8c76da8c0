# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Declarative "make it so" on top of the resource client: compare, preview, then apply.

Every change is first sent as a server-side dry run. The API server and its admission webhooks
validate it there (unknown fields, schema, missing instancetypes...), so a rejected change never
reaches storage as a write, and a change the server would turn into a no-op is not written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._diff import has_difference
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared, carry_forward, needs_apply
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._retry import retry_on_conflict


@dataclass
class ApplyOutcome:
    changed: bool
    before: Optional[Dict[str, Any]]
    after: Optional[Dict[str, Any]]
    # Whether this task's own request created the object (the server answered 201).
    created: bool = False

    @property
    def method(self) -> str:
        if not self.changed:
            return "none"
        return "create" if self.created else "update"


def _generation(obj: Optional[Dict[str, Any]]) -> int:
    return int(((obj or {}).get("metadata") or {}).get("generation") or 0)


def with_resource_version(body: Dict[str, Any], live: Dict[str, Any]) -> Dict[str, Any]:
    """``body`` with the read resourceVersion: the server refuses it (409) once the object moved on."""
    version = (live.get("metadata") or {}).get("resourceVersion")
    if not version:
        return body
    guarded = copy.deepcopy(body)
    guarded.setdefault("metadata", {})["resourceVersion"] = version
    return guarded


def ensure_applied(
    client: Any,
    ref: ResourceRef,
    desired: Dict[str, Any],
    namespace: Optional[str] = None,
    declared: Optional[Declared] = None,
    before_write: Optional[Callable[[Optional[Dict[str, Any]], Dict[str, Any]], None]] = None,
    live: Any = False,
    keep: Optional[Callable[[Optional[Dict[str, Any]], Dict[str, Any]], Dict[str, Any]]] = None,
) -> ApplyOutcome:
    """Server-side apply ``desired`` if, and only if, it changes the live object.

    ``live`` may pass the object (or None) the caller just read, saving the first GET; a retry
    after a 409 reads afresh.

    ``keep(live, desired)`` returns ``desired`` with what other tools own and must survive the
    apply (hot-plugged volumes in atomic lists); it sees each fresh read.

    ``before_write(live, desired)`` runs only when there is something to apply, before the dry
    run (also in check mode): checks that cost requests, such as references to other objects.

    ``declared`` None: ``desired`` is the whole truth, fields we applied before and no longer
    send are removed. Otherwise only the ``declared`` paths are; everything else we own keeps
    its live value (see carry_forward). Values carried from the read are only true for the
    version read, so the apply names that resourceVersion; when another writer got in between,
    the 409 makes us read again and rebuild (bounded), instead of writing old values back.
    Unchanged objects cost one GET. In check mode (a dry-run client) the preview is the answer.
    """
    reads = [live]

    def attempt() -> ApplyOutcome:
        known = reads.pop() if reads else False
        return _apply_once(client, ref, desired, namespace, declared, before_write, known, keep)

    return retry_on_conflict(attempt)


def _apply_once(
    client: Any, ref: ResourceRef, desired: Dict[str, Any], namespace: Optional[str], declared: Optional[Declared],
    before_write: Optional[Callable[[Optional[Dict[str, Any]], Dict[str, Any]], None]] = None,
    known: Any = False,
    keep: Optional[Callable[[Optional[Dict[str, Any]], Dict[str, Any]], Dict[str, Any]]] = None,
) -> ApplyOutcome:
    name = desired["metadata"]["name"]
    live = client.get(ref, name, namespace) if known is False else known
    if keep is not None:
        desired = keep(live, desired)
    if declared is not None:
        desired = carry_forward(live, client.field_manager, desired, declared)
        if live is not None:
            desired = with_resource_version(desired, live)
    if not needs_apply(desired, live, client.field_manager):
        return ApplyOutcome(False, live, live)
    if before_write is not None:
        before_write(live, desired)
    preview = client.apply(ref, desired, namespace, dry_run=True)
    if live is not None and not has_difference(live, preview):
        return ApplyOutcome(False, live, live)
    if client.dry_run:
        return ApplyOutcome(True, live, preview, created=live is None)
    after, created = client.apply_status(ref, desired, namespace)
    if live is None and not created:
        # Someone else created it between our read and our apply (200, not 201). Our apply
        # changed its spec only if that bumped the generation past the creator's 1.
        return ApplyOutcome(_generation(after) > 1, None, after)
    return ApplyOutcome(True, live, after, created=created)
