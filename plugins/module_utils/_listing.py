# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the _info modules read a kind: by name, in some namespaces, or across the cluster.

A name in given namespaces is one GET per namespace; anything else is one paginated list per
namespace (or one cluster-wide list), label selectors and a name field selector applied by the
server, so the cost does not grow with the number of objects.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef

Scopes = List[Optional[str]]


def read_scopes(params: Mapping[str, Any]) -> Scopes:
    """Namespaces to read; [None] means one cluster-wide request chain."""
    if params.get("namespaces"):
        return list(dict.fromkeys(params["namespaces"]))
    return [params.get("namespace")]


def single_name(params: Mapping[str, Any], scopes: Scopes) -> bool:
    """A name in known namespaces without selectors: GETs instead of lists."""
    return bool(params.get("name")) and scopes != [None] and not params.get("label_selectors")


def read_objects(client: Any, ref: ResourceRef, params: Mapping[str, Any], scopes: Scopes) -> List[Dict[str, Any]]:
    if single_name(params, scopes):
        found = [client.get(ref, params["name"], scope) for scope in scopes]
        return [obj for obj in found if obj is not None]
    labels = ",".join(s for s in params.get("label_selectors") or [] if s) or None
    fields = "metadata.name=%s" % params["name"] if params.get("name") else None
    items: List[Dict[str, Any]] = []
    for scope in scopes:
        items.extend(client.list(ref, namespace=scope, label_selector=labels, field_selector=fields))
    return items
