# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Built-in inventory groups of the ``virt.kubevirt.kubevirt`` inventory plugin.

Names keep kubevirt.core's (``namespace_<ns>``, ``label_<key>_<value>``, a group per cluster) and
add ``node_<node>``, ``status_<status>``, ``os_<id>`` / ``os_windows`` and
``instancetype_<name>``. Names are returned raw: the plugin sanitises them with Ansible's own rules
(TRANSFORM_INVALID_GROUP_CHARS), as every inventory plugin does.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_hosts import HostRecord

GROUP_BY_CHOICES = ("cluster", "namespace", "node", "status", "os", "instancetype")

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def default_cluster_name(server: str) -> str:
    """kubevirt.core's default cluster group name: ``https://api.x:6443`` -> ``api-x_6443``."""
    for scheme in ("https://", "http://"):
        if server.startswith(scheme):
            server = server[len(scheme):]
    return server.rstrip("/").replace(".", "-").replace(":", "_").replace("/", "_")


def status_group(status: str) -> str:
    """``ErrorUnschedulable`` -> ``status_error_unschedulable``."""
    return "status_" + _CAMEL_BOUNDARY.sub("_", status).lower()


def host_groups(host: HostRecord, group_by: Iterable[str], create_groups: bool) -> List[str]:
    """Every built-in group the host belongs to, except the cluster group (see cluster_parent)."""
    enabled = set(group_by)
    groups: List[str] = []
    if "namespace" in enabled:
        groups.append("namespace_%s" % host.namespace)
    if "node" in enabled and host.node:
        groups.append("node_%s" % host.node)
    if "status" in enabled and host.status:
        groups.append(status_group(host.status))
    if "os" in enabled:
        if host.os_id:
            groups.append("os_%s" % host.os_id)
        if host.windows and host.os_id != "windows":
            groups.append("os_windows")
    if "instancetype" in enabled and host.instancetype:
        groups.append("instancetype_%s" % host.instancetype)
    if create_groups:
        for key, value in host.labels:
            name = "label_%s_%s" % (key, value)
            if name not in groups:
                groups.append(name)
    return groups


def cluster_parent(
    host: HostRecord, group_by: Iterable[str], single_cluster: bool
) -> Tuple[Optional[str], Optional[str]]:
    """(cluster group, what goes into it): the namespace group or the host itself.

    With one cluster the namespace groups nest under the cluster group, as in kubevirt.core. With
    several clusters a namespace group would span clusters, so hosts join their cluster directly.
    """
    enabled = set(group_by)
    if "cluster" not in enabled:
        return None, None
    if single_cluster and "namespace" in enabled:
        return host.cluster, "namespace_%s" % host.namespace
    return host.cluster, None
