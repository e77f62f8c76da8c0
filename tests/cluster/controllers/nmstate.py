"""kubernetes-nmstate (nmstate.io): NodeNetworkStates, policies and their enactments, as the handler
(controllers/handler), pkg/enactmentstatus/conditions and pkg/policyconditions report them.

- One NodeNetworkState per node (name = node, owned by it): ``status.currentState`` from
  nmstate_state.initial_state (eth0 with the node's InternalIP by DHCP, eth1..eth3 idle, lo, a default
  route, DNS), ``lastSuccessfulUpdateTime``, the handler's versions and Available/Failing conditions.
  A successful enactment writes the node's new state.
- A NodeNetworkConfigurationPolicy gets one enactment ``<node>.<policy>`` per node whose labels carry
  every ``spec.nodeSelector`` pair (labels ``nmstate.io/policy``/``nmstate.io/node``, owned by the
  policy); an enactment of a node that stops matching is deleted. Per policy generation an enactment
  gets ``desiredState`` (captures resolved on its node), ``capturedStates``, ``desiredStateMetaInfo``
  and ``policyGeneration``, then goes Progressing ("Applying desired state") while fewer than
  ``maxUnavailable`` nodes (int or percent of the matching nodes rounded up, at least 1, default 50%)
  are progressing, else Pending (MaxUnavailableLimitReached); it is Aborted once as many enactments
  failed as ``maxUnavailable`` allows. Applying lasts CONFIGURE_STEPS transitions and ends Available
  (SuccessfullyConfigured, "successfully reconciled") or Failing (FailedToConfigure with the handler's
  "error reconciling ... failed to execute nmstatectl set --no-commit --timeout 480: ..." text); the
  real handler's retries (RetriesUntilFail) and rollback probes are not simulated: one try.
  A capture that cannot be generated fails the enactment ("failure generating desiredState and
  capturedStates: ...").
- The policy's status: Available/Degraded/Progressing/Ignored with setPolicyStatus' messages,
  ``unavailableNodeCount`` and ``lastUnavailableNodeCountUpdate``.
- The ValidatingAdmissionPolicy ``nncp-validation-policy``: a name longer than 63 characters or not
  in label-value format (create), a spec update while the policy is still in progress (403), a
  changed ``capture`` (422) and nodeSelector values that are not label values (422).
Deleting a policy leaves the hosts as they are (nmstate never rolls back on delete).
"""
from __future__ import annotations

import copy
import re
import time
from typing import Iterator, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from . import nmstate_state as hoststate
from .keys import NODE
from .runtime import Controller, ObjKey, Runtime

NNCP: GR = ("nmstate.io", "nodenetworkconfigurationpolicies")
NNCE: GR = ("nmstate.io", "nodenetworkconfigurationenactments")
NNS: GR = ("nmstate.io", "nodenetworkstates")
POLICY_LABEL = "nmstate.io/policy"
NODE_LABEL = "nmstate.io/node"
VAP = "nncp-validation-policy"
CONFIGURE_STEPS = 3
DEFAULT_MAX_UNAVAILABLE = "50%"
ENACTMENT_TYPES = ("Available", "Failing", "Progressing", "Pending", "Aborted")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def scaled_max_unavailable(value, matching: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent rounding up, at least 1; invalid values use 50%."""
    value = DEFAULT_MAX_UNAVAILABLE if value is None else value
    if isinstance(value, str):
        match = re.fullmatch(r"(\d+)%", value)
        count = -(-int(match[1]) * matching // 100) if match else -(-matching // 2)
    else:
        count = int(value)
    return max(count, 1)


def set_condition(conditions: list, ctype: str, status: str, reason: str, message: str = "") -> None:
    """shared.ConditionList.Set: lastTransitionTime moves only when the status changes."""
    stamp = now_rfc3339()
    for cond in conditions:
        if cond["type"] == ctype:
            if (cond["status"], cond.get("reason"), cond.get("message")) == (status, reason, message):
                return  # unchanged: no write (the real handler bumps lastHeartbeatTime here)
            if cond["status"] != status:
                cond["lastTransitionTime"] = stamp
            cond.update(status=status, reason=reason, message=message, lastHeartbeatTime=stamp)
            return
    conditions.append({"type": ctype, "status": status, "reason": reason, "message": message,
                       "lastHeartbeatTime": stamp, "lastTransitionTime": stamp})


def set_enactment(conditions: list, state: str, reason: str, message: str) -> None:
    """The enactment condition setters: ``state`` True with the message, the others False (Unknown
    for Available/Failing while progressing)."""
    for ctype in ENACTMENT_TYPES:
        if ctype == state:
            set_condition(conditions, ctype, "True", reason, message)
        elif state == "Progressing" and ctype in ("Available", "Failing"):
            set_condition(conditions, ctype, "Unknown", reason)
        elif state == "Pending" and ctype == "Progressing":
            set_condition(conditions, ctype, "False", reason, message)
        else:
            set_condition(conditions, ctype, "False", reason)


def enactment_state(nnce: dict) -> str:
    for cond in (nnce.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True":
            return cond["type"]
    return ""


def node_matches(node: dict, selector: Optional[dict]) -> bool:
    labels = node["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def _vap_denied(name: str, message: str, reason: str) -> errors.ApiError:
    code = 403 if reason == "Forbidden" else 422
    return errors.ApiError(code, reason, f'nodenetworkconfigurationpolicies.nmstate.io "{name}" is forbidden: '
                           f"ValidatingAdmissionPolicy '{VAP}' with binding '{VAP}-binding' denied request: {message}")


def node_index(node: dict, fallback: int = 1) -> int:
    digits = re.findall(r"\d+", node["metadata"]["name"])
    return int(digits[-1]) if digits else fallback


def ensure_node_network_state(service, node: dict) -> None:
    """The handler's NodeNetworkState of ``node`` (also written by the seeder, in converged state)."""
    name = node["metadata"]["name"]
    if service.store.get(NNS, None, name) is not None:
        return
    address = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                    if a.get("type") == "InternalIP"), "192.168.66.100")
    stamp = now_rfc3339()
    conditions: list = []
    set_condition(conditions, "Available", "True", "SuccessfullyConfigured", "successfully reconciled")
    set_condition(conditions, "Failing", "False", "SuccessfullyConfigured")
    state = {
        "apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkState",
        "metadata": {"name": name, "labels": {NODE_LABEL: name}, "ownerReferences": [{
            "apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"].get("uid", "")}]},
        "status": {"currentState": hoststate.initial_state(node_index(node), address),
                   "lastSuccessfulUpdateTime": stamp, "conditions": conditions,
                   "handlerNmstateVersion": hoststate.NMSTATE_VERSION,
                   "hostNetworkManagerVersion": hoststate.NM_VERSION,
                   "handlerNetworkManagerVersion": hoststate.NM_VERSION},
    }
    try:
        service.create(NNS, state, keep_status=True)
    except errors.ApiError as exc:
        if exc.reason != "AlreadyExists":  # the seeder and the handler may both write it first
            raise


class NmstateController(Controller):
    name = "nmstate"
    watches = (NNCP,)

    def __init__(self) -> None:
        self._started: dict[tuple[str, str, int], float] = {}  # (policy, node, generation) -> apply start

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(NNCP, self._admit)

    # -- ValidatingAdmissionPolicy ----------------------------------------------------------------
    def _admit(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource:
            return
        name = new["metadata"].get("name") or ""
        spec, old_spec = new.get("spec") or {}, (old or {}).get("spec") or {}
        if request.operation == "CREATE" and (len(name) > 63 or not _NAME.match(name)):
            raise _vap_denied(name, f'invalid policy name: "{name}": must be no more than 63 characters '
                                    f"or match label value format", "Invalid")
        if request.operation == "UPDATE" and spec != old_spec:
            available = next((c for c in ((old or {}).get("status") or {}).get("conditions") or []
                              if c.get("type") == "Available"), None)
            if not available or available.get("reason") in ("", None, "ConfigurationProgressing"):
                raise _vap_denied(name, f"policy {name} is still in progress", "Forbidden")
            if spec.get("capture") != old_spec.get("capture"):
                raise _vap_denied(name, "invalid policy operation: capture field cannot be modified", "Invalid")
        if any(not isinstance(v, str) or len(v) > 63 or not _LABEL_VALUE.match(v)
               for v in (spec.get("nodeSelector") or {}).values()):
            raise _vap_denied(name, "nodeSelector values must be valid label values", "Invalid")

    # -- wiring -----------------------------------------------------------------------------------
    def start(self, rt: Runtime) -> None:
        for node in rt.store.list(NODE)[0]:
            self._ensure_state(rt, node)

    def keys_for(self, event: Event) -> Iterator[ObjKey]:
        if event.gr == NNCP:
            if event.type == "DELETED":
                self._drop_enactments(event.obj["metadata"]["name"])
            elif event.type == "ADDED" or event.obj["metadata"].get("generation") != (
                    (event.old or {}).get("metadata") or {}).get("generation"):
                yield (NNCP, "", event.obj["metadata"]["name"])  # not for its own status writes
        elif event.gr == NODE and event.type != "DELETED":
            labels_changed = (event.obj["metadata"].get("labels") != ((event.old or {}).get("metadata") or {}).get(
                "labels"))
            if event.type == "ADDED":
                yield (NODE, "", event.obj["metadata"]["name"])
            if labels_changed:
                for policy in self.rt.store.list(NNCP)[0]:
                    yield (NNCP, "", policy["metadata"]["name"])

    def _drop_enactments(self, policy: str) -> None:
        for nnce in self.rt.store.list(NNCE)[0]:
            if (nnce["metadata"].get("labels") or {}).get(POLICY_LABEL) == policy:
                try:
                    self.rt.service.delete(NNCE, None, nnce["metadata"]["name"])
                except errors.ApiError:
                    pass  # the garbage collector may have been first

    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        if gr == NODE:
            node = rt.store.get(NODE, None, name)
            if node is not None:
                self._ensure_state(rt, node)
            return
        policy = rt.store.get(NNCP, None, name)
        if policy is None or policy["metadata"].get("deletionTimestamp"):
            return
        if self._step(rt, policy):
            rt.requeue(self, NNCP, None, name, 1)

    # -- NodeNetworkState ---------------------------------------------------------------------------
    @staticmethod
    def _node_index(node: dict, fallback: int = 1) -> int:
        return node_index(node, fallback)

    @staticmethod
    def _ensure_state(rt: Runtime, node: dict) -> None:
        ensure_node_network_state(rt.service, node)

    # -- policy rollout -----------------------------------------------------------------------------
    def _step(self, rt: Runtime, policy: dict) -> bool:
        """Advance every enactment of the policy by at most one transition; True while unfinished."""
        pname = policy["metadata"]["name"]
        spec = policy.get("spec") or {}
        generation = int(policy["metadata"].get("generation", 1))
        nodes = sorted((n for n in rt.store.list(NODE)[0] if node_matches(n, spec.get("nodeSelector"))),
                       key=lambda n: n["metadata"]["name"])
        names = {n["metadata"]["name"] for n in nodes}
        for nnce in rt.store.list(NNCE)[0]:
            labels = nnce["metadata"].get("labels") or {}
            if labels.get(POLICY_LABEL) == pname and labels.get(NODE_LABEL) not in names:
                rt.service.delete(NNCE, None, nnce["metadata"]["name"])
        limit = scaled_max_unavailable(spec.get("maxUnavailable"), len(nodes))
        enactments = {n["metadata"]["name"]: self._enactment(rt, policy, n, generation) for n in nodes}
        states = {node: enactment_state(e) for node, e in enactments.items()}
        unfinished = False
        for node in sorted(enactments):
            state = states[node]
            if state in ("Available", "Failing", "Aborted"):
                continue
            unfinished = True
            key = (pname, node, generation)
            if state == "Progressing":
                if time.monotonic() - self._started.get(key, 0.0) >= rt.transition_seconds(CONFIGURE_STEPS):
                    states[node] = self._finish(rt, policy, enactments[node], node)
                continue
            failed = sum(1 for s in states.values() if s == "Failing")
            progressing = sum(1 for s in states.values() if s == "Progressing")
            if failed >= limit:
                states[node] = "Aborted"
                message = f'reconciliation of enactment "{node}.{pname}" has aborted'
                self._set(rt, enactments[node], "Aborted", "ConfigurationAborted", message)
                rt.record_event(policy, "ReconcileFailed", message, event_type="Warning",
                                component="nmstate-handler")
            elif progressing < limit:
                states[node] = "Progressing"
                self._started[key] = time.monotonic()
                self._set(rt, enactments[node], "Progressing", "ConfigurationProgressing", "Applying desired state")
            elif state != "Pending":
                states[node] = "Pending"
                self._set(rt, enactments[node], "Pending", "MaxUnavailableLimitReached",
                          "Waiting for progressing nodes to finish")
        self._policy_status(rt, pname, len(nodes), states)
        return unfinished or any(s not in ("Available", "Failing", "Aborted") for s in states.values())

    def _enactment(self, rt: Runtime, policy: dict, node: dict, generation: int) -> dict:
        """The node's enactment, (re)initialised for this generation: desired state with captures."""
        pname, nname = policy["metadata"]["name"], node["metadata"]["name"]
        name = f"{nname}.{pname}"
        nnce = rt.store.get(NNCE, None, name)
        if nnce is None:
            nnce = rt.service.create(NNCE, {
                "apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkConfigurationEnactment",
                "metadata": {"name": name, "labels": {POLICY_LABEL: pname, NODE_LABEL: nname},
                             "ownerReferences": [{"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                                                  "name": pname, "uid": policy["metadata"].get("uid", "")}]},
            })
        if int((nnce.get("status") or {}).get("policyGeneration") or 0) == generation:
            return nnce
        spec = policy.get("spec") or {}
        stamp = now_rfc3339()
        meta_info = {"version": "0", "time": stamp}
        status: dict = {"policyGeneration": generation, "desiredStateMetaInfo": meta_info, "conditions": []}
        current = ((rt.store.get(NNS, None, nname) or {}).get("status") or {}).get("currentState") or {}
        try:
            captured = hoststate.resolve_captures(spec.get("capture") or {}, current)
            status["desiredState"] = hoststate.render(copy.deepcopy(spec.get("desiredState") or {}), captured)
            if captured:
                status["capturedStates"] = {k: {"state": v, "metaInfo": meta_info} for k, v in captured.items()}
        except (hoststate.CaptureError, ValueError, IndexError) as exc:
            status["desiredState"] = copy.deepcopy(spec.get("desiredState") or {})
            set_enactment(status["conditions"], "Failing", "FailedToConfigure",
                          f"failure generating desiredState and capturedStates: {exc}")
        return rt.service.mutate(NNCE, None, name, lambda o: o.__setitem__("status", status),
                                 subresource="status")

    def _set(self, rt: Runtime, nnce: dict, state: str, reason: str, message: str) -> None:
        def edit(obj: dict) -> None:
            set_enactment(obj.setdefault("status", {}).setdefault("conditions", []), state, reason, message)
        rt.service.mutate(NNCE, None, nnce["metadata"]["name"], edit, subresource="status")

    def _finish(self, rt: Runtime, policy: dict, nnce: dict, node: str) -> str:
        """nmstatectl set on the node: its NNS updated and the enactment Available, or Failing."""
        nns = rt.store.get(NNS, None, node) or {}
        current = (nns.get("status") or {}).get("currentState") or {}
        foreign = {a: n["metadata"]["name"] for n in rt.store.list(NNS)[0] if n["metadata"]["name"] != node
                   for a in hoststate.all_addresses((n.get("status") or {}).get("currentState"))}
        node_obj = rt.store.get(NODE, None, node) or {"metadata": {"name": node}}
        try:
            new_state = hoststate.apply(current, (nnce.get("status") or {}).get("desiredState") or {},
                                        self._node_index(node_obj), foreign)
        except hoststate.ApplyError as exc:
            stderr = f"[{now_rfc3339()} ERROR nmstatectl] {exc}"
            message = (f'error reconciling NodeNetworkConfigurationPolicy on node {node} at desired state apply: "",'
                       f"\n failed to execute nmstatectl set --no-commit --timeout 480: 'exit status 1' '' '{stderr}'")
            self._set(rt, nnce, "Failing", "FailedToConfigure", message)
            rt.record_event(policy, "ReconcileFailed",
                            f'reconciliation of enactment "{nnce["metadata"]["name"]}" has failed after 0 retries',
                            event_type="Warning", component="nmstate-handler")
            return "Failing"

        def write_state(obj: dict) -> None:
            obj["status"]["currentState"] = new_state
            obj["status"]["lastSuccessfulUpdateTime"] = now_rfc3339()
        rt.service.mutate(NNS, None, node, write_state, subresource="status")
        self._set(rt, nnce, "Available", "SuccessfullyConfigured", "successfully reconciled")
        return "Available"

    def _policy_status(self, rt: Runtime, pname: str, matching: int, states: dict[str, str]) -> None:
        counts = {s: sum(1 for v in states.values() if v == s) for s in ENACTMENT_TYPES}
        finished = counts["Available"] + counts["Failing"] + counts["Aborted"]

        def edit(obj: dict) -> None:
            status = obj.setdefault("status", {})
            conditions = status.setdefault("conditions", [])
            if matching == 0:
                verdict = ("False", "False", "False", "True", "NoMatchingNode", "Policy does not match any node")
            elif counts["Failing"] or counts["Aborted"]:
                message = f"{counts['Failing']}/{matching} nodes failed to configure"
                if counts["Aborted"]:
                    message += f", {counts['Aborted']} nodes aborted configuration"
                verdict = ("False", "True", "False", "False", "FailedToConfigure", message)
            elif finished < matching or counts["Pending"]:
                message = f"Policy is progressing {finished}/{matching} nodes finished"
                if counts["Pending"] and finished >= matching:
                    message += f", {counts['Pending']} pending"
                verdict = ("Unknown", "Unknown", "True", "False", "ConfigurationProgressing", message)
            else:
                verdict = ("True", "False", "False", "False", "SuccessfullyConfigured",
                           f"{counts['Available']}/{matching} nodes successfully configured")
            available, degraded, progressing, ignored, reason, message = verdict
            set_condition(conditions, "Degraded", degraded, reason, message if degraded == "True" else "")
            set_condition(conditions, "Available", available, reason, message if available == "True" else "")
            set_condition(conditions, "Progressing", progressing,
                          "ConfigurationProgressing" if reason == "FailedToConfigure" else reason,
                          message if progressing == "True" else "")
            set_condition(conditions, "Ignored", ignored, reason, message if ignored == "True" else "")
            if status.get("unavailableNodeCount", 0) != counts["Progressing"]:
                status["lastUnavailableNodeCountUpdate"] = now_rfc3339()
            if counts["Progressing"]:
                status["unavailableNodeCount"] = counts["Progressing"]
            else:
                status.pop("unavailableNodeCount", None)
        rt.service.mutate(NNCP, None, pname, edit, subresource="status")
