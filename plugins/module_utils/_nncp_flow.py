# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_network_policy's steps: apply the policy, wait for its rollout, report per node; removal
the nmstate way (interfaces absent, wait, then delete)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ApplyOutcome, ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_spec import NNCP, build_policy, removal_state
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_status import (
    current,
    enactment_summary,
    enactments,
    generation,
    failure_message,
    progress_summary,
    unmatched_nodes,
    verdict,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import NODE


def _summary(policy: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    if not policy:
        return {}
    status = policy.get("status") or {}
    return {"name": policy["metadata"]["name"], "generation": policy["metadata"].get("generation"),
            "spec": policy.get("spec") or {}, "conditions": status.get("conditions") or [],
            "unavailable_node_count": status.get("unavailableNodeCount", 0), "verdict": verdict(policy)}


def wait_rollout(module: Any, name: str, outcome: Optional[ApplyOutcome] = None) -> Dict[str, Any]:
    """Wait until the policy settles for its current generation (Available, Degraded or matching no
    node); fail with the per-node report when it is Degraded. Returns result fields.
    ``outcome``: our write of the policy; the watch starts from its resourceVersion, so every rollout
    step after the write is seen (a fresh read could come after the rollout)."""
    client = module.client
    seen: Dict[str, Any] = {}
    written = outcome.after if outcome is not None else None
    # A new generation we wrote still carries the last one's conditions until the handler answers.
    stale = written is not None and generation(written) != generation(outcome.before)
    stale_version = (written or {}).get("metadata", {}).get("resourceVersion") if stale else None

    def settled(policy: Optional[Mapping[str, Any]]) -> bool:
        if policy is None or verdict(policy) == "Progressing":
            return False
        if stale_version is not None and policy["metadata"].get("resourceVersion") == stale_version:
            return False
        items = enactments(client, name)  # only once the conditions look final: are they of this spec?
        if not current(policy, items):
            return False
        seen["items"] = items
        return True

    policy = module.waiter().wait(NNCP, name, None, settled, module.params["wait_timeout"],
                                  "Available (every matching node configured)", summary=progress_summary,
                                  initial=written if written is not None else False)
    items = seen.get("items") or []
    fields: Dict[str, Any] = {"policy": _summary(policy), "enactments": [enactment_summary(e) for e in items]}
    state = verdict(policy)
    if state in ("Degraded", "NoMatchingNode"):
        nodes = client.list(NODE)
        fields["unmatched_nodes"] = unmatched_nodes(nodes, (policy.get("spec") or {}).get("nodeSelector"))
    if state == "NoMatchingNode":
        module.warn("NodeNetworkConfigurationPolicy %s matches no node; nothing was configured" % name)
    if state == "Degraded":
        err = KubeApiError(failure_message(policy, items, fields["unmatched_nodes"]), reason="FailedToConfigure")
        err.result_fields = fields
        raise err
    return fields


def _fail_with(result: Dict[str, Any], err: KubeApiError, prefix: str = "") -> KubeApiError:
    """The error, carrying what the task had done (changed, method, diff) into the failed result."""
    out = KubeApiError(prefix + str(err), status=err.status, reason=err.reason, causes=err.causes)
    out.result_fields = dict(err.result_fields, **{k: v for k, v in result.items() if k in ("changed", "method", "diff")})
    return out


def present(module: Any) -> Dict[str, Any]:
    params = module.params
    outcome = ensure_applied(module.client, NNCP, build_policy(params))
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method,
                              "policy": _summary(outcome.after), "enactments": []}
    if outcome.changed:
        module.add_diff(result, outcome.before, outcome.after)
    if params["wait"] and not module.check_mode:
        try:
            result.update(wait_rollout(module, params["name"], outcome))
        except KubeApiError as err:
            raise _fail_with(result, err) from None
    return result


def absent(module: Any) -> Dict[str, Any]:
    """``removal=revert``: the policy's interfaces, routes and mappings set absent and rolled out
    first, then the policy deleted; ``removal=delete_only`` deletes it and leaves the hosts as they are."""
    params = module.params
    client = module.client
    name = params["name"]
    live = client.get(NNCP, name)
    result: Dict[str, Any] = {"changed": False, "method": "none", "enactments": []}
    if live is None:
        return result
    if params["removal"] == "revert":
        spec = dict(live.get("spec") or {})
        undo = removal_state(spec.get("desiredState") or {})
        outcome = None
        if undo and undo != spec.get("desiredState"):
            body = {"apiVersion": NNCP.api_version, "kind": NNCP.kind, "metadata": {"name": name},
                    "spec": dict(spec, desiredState=undo)}
            outcome = ensure_applied(client, NNCP, body, live=live)
            result.update(changed=outcome.changed, method="revert")
        if not module.check_mode:
            try:
                result.update(wait_rollout(module, name, outcome))
            except KubeApiError as err:
                raise _fail_with(result, err, "Reverting before delete (the policy was kept): ") from None
    client.delete(NNCP, name)
    result.update(changed=True, method="delete" if result["method"] == "none" else "revert+delete")
    module.add_diff(result, live, None)
    if params["wait"] and not module.check_mode:
        module.waiter().wait(NNCP, name, None, is_gone, params["wait_timeout"], "deleted")
    return result


def run(module: Any, validate: Any) -> Dict[str, Any]:
    validate(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)
