# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a NodeNetworkConfigurationPolicy's rollout: its conditions (pkg/policyconditions), its
enactments ``<node>.<policy>`` (pkg/enactmentstatus/conditions) and the per-node failure report."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_spec import NNCE, POLICY_LABEL
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition

Obj = Optional[Mapping[str, Any]]
ENACTMENT_STATES = ("Available", "Failing", "Progressing", "Pending", "Aborted")
# nmstatectl's own error line inside the handler's long "error reconciling ..." text.
_NMSTATE_ERROR = re.compile(r"NmstateError: [^'\n]*")


def generation(policy: Obj) -> int:
    return int(((policy or {}).get("metadata") or {}).get("generation") or 0)


def verdict(policy: Obj) -> str:
    """Available, Degraded, NoMatchingNode or Progressing (also before the handler looked at it)."""
    if find_condition(policy, "Available") and find_condition(policy, "Available").get("status") == "True":
        return "Available"
    if (find_condition(policy, "Degraded") or {}).get("status") == "True":
        return "Degraded"
    if (find_condition(policy, "Ignored") or {}).get("status") == "True":
        return "NoMatchingNode"
    return "Progressing"


def enactment_state(nnce: Mapping[str, Any]) -> str:
    for ctype in ENACTMENT_STATES:
        if (find_condition(nnce, ctype) or {}).get("status") == "True":
            return ctype
    return "Unknown"


def enactment_summary(nnce: Mapping[str, Any]) -> Dict[str, Any]:
    """One node's enactment for the result: node, state, reason, message, generation."""
    state = enactment_state(nnce)
    cond = find_condition(nnce, state) or {}
    labels = (nnce.get("metadata") or {}).get("labels") or {}
    return {"node": labels.get("nmstate.io/node") or nnce["metadata"]["name"].split(".", 1)[0],
            "state": state, "reason": cond.get("reason"), "message": cond.get("message") or "",
            "policy_generation": (nnce.get("status") or {}).get("policyGeneration"),
            "since": cond.get("lastTransitionTime")}


def enactments(client: Any, name: str) -> List[Dict[str, Any]]:
    """The policy's enactments (one list request), by node name."""
    items = client.list(NNCE, label_selector="%s=%s" % (POLICY_LABEL, name))
    return sorted(items, key=lambda e: e["metadata"]["name"])


def current(policy: Obj, items: List[Mapping[str, Any]]) -> bool:
    """Every enactment is of the policy's generation: the conditions speak of this spec, not the last."""
    wanted = generation(policy)
    return all(int((e.get("status") or {}).get("policyGeneration") or 0) == wanted for e in items)


def progress_summary(policy: Obj) -> str:
    """'Progressing: Policy is progressing 1/3 nodes finished, 1 in progress' and the like."""
    if policy is None:
        return "absent"
    state = verdict(policy)
    cond = find_condition(policy, {"Available": "Available", "Degraded": "Degraded",
                                   "NoMatchingNode": "Ignored"}.get(state, "Progressing")) or {}
    message = cond.get("message") or "waiting for the nmstate handlers"
    busy = ((policy.get("status") or {}).get("unavailableNodeCount") or 0)
    if state == "Progressing" and busy:
        message += ", %d in progress" % busy
    return "%s: %s" % (state, message)


def short_error(message: str) -> str:
    """nmstatectl's error line when the handler's message carries one, else the message."""
    found = _NMSTATE_ERROR.search(message or "")
    return found.group(0).rstrip() if found else (message or "").strip()


def failure_message(policy: Mapping[str, Any], items: List[Mapping[str, Any]], unmatched: List[str]) -> str:
    """One line: the policy's Degraded message, each failing node with nmstate's error, the aborted
    and still pending nodes, and the nodes the selector left out."""
    name = policy["metadata"]["name"]
    summaries = [enactment_summary(e) for e in items]
    parts = ["NodeNetworkConfigurationPolicy %s failed: %s" % (
        name, (find_condition(policy, "Degraded") or {}).get("message") or "Degraded")]
    for entry in summaries:
        if entry["state"] == "Failing":
            parts.append("node %s: %s" % (entry["node"], short_error(entry["message"])))
    for state, label in (("Aborted", "aborted (not configured)"), ("Pending", "pending"),
                         ("Available", "configured")):
        nodes = [e["node"] for e in summaries if e["state"] == state]
        if nodes:
            parts.append("%s: %s" % (label, ", ".join(nodes)))
    if unmatched:
        parts.append("not matching node_selector: %s" % ", ".join(unmatched))
    return "; ".join(parts)


def unmatched_nodes(nodes: List[Mapping[str, Any]], selector: Optional[Mapping[str, str]]) -> List[str]:
    out = []
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in (selector or {}).items()):
            out.append(node["metadata"]["name"])
    return sorted(out)
