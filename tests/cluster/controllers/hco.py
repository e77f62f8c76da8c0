"""The HyperConverged operator (hco.kubevirt.io/v1beta1) as it owns the KubeVirt CR on OpenShift.

HCO renders the KubeVirt CR ``kubevirt-<hc name>`` from the HyperConverged CR and puts its own
values back when someone edits the KubeVirt CR directly ("opinionated values"). Simulated for the
fields the collection manages: ``spec.liveMigrationConfig`` -> ``spec.configuration.migrations``
(the eight fields HCO's API has; HCO leaves the others out, so a direct edit of them is reverted
too), ``spec.workloadUpdateStrategy`` -> the same section, and ``vmRolloutStrategy: LiveUpdate``,
which HCO sets itself. Feature gates and the rest of the KubeVirt spec are not reconciled here.
The HyperConverged CR ``kubevirt-hyperconverged`` in ``openshift-cnv`` is created at start with
HCO's defaults (the CRD's), conditions Available/Progressing/Degraded/ReconcileComplete/Upgradeable,
and the KubeVirt CR gets its controller ownerReference.
"""
from __future__ import annotations

import copy
from typing import Iterable

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.resources import GR
from ..api.store import Event
from .keys import KUBEVIRT
from .runtime import Controller, ObjKey, Runtime
from .virtcommon import flavor, kubevirt_location

HYPERCONVERGED: GR = ("hco.kubevirt.io", "hyperconvergeds")
HCO_NAMESPACE = "openshift-cnv"
HCO_NAME = "kubevirt-hyperconverged"
# liveMigrationConfig fields, the same names in KubeVirt's MigrationConfiguration
MIGRATION_FIELDS = ("allowAutoConverge", "allowPostCopy", "bandwidthPerMigration", "completionTimeoutPerGiB",
                    "network", "parallelMigrationsPerCluster", "parallelOutboundMigrationsPerNode", "progressTimeout")
DEFAULT_MIGRATIONS = {"allowAutoConverge": False, "allowPostCopy": False, "bandwidthPerMigration": "64Mi",
                      "completionTimeoutPerGiB": 150, "parallelMigrationsPerCluster": 5,
                      "parallelOutboundMigrationsPerNode": 2, "progressTimeout": 150}
DEFAULT_WORKLOAD_UPDATE = {"batchEvictionInterval": "1m0s", "batchEvictionSize": 10,
                           "workloadUpdateMethods": ["LiveMigrate"]}


def build_hyperconverged() -> dict:
    stamp = now_rfc3339()
    conditions = [("ReconcileComplete", "True", "ReconcileCompleted", "Reconcile completed successfully"),
                  ("Available", "True", "ReconcileCompleted", "Reconcile completed successfully"),
                  ("Progressing", "False", "ReconcileCompleted", "Reconcile completed successfully"),
                  ("Degraded", "False", "ReconcileCompleted", "Reconcile completed successfully"),
                  ("Upgradeable", "True", "ReconcileCompleted", "Reconcile completed successfully")]
    return {
        "apiVersion": "hco.kubevirt.io/v1beta1", "kind": "HyperConverged",
        "metadata": {"name": HCO_NAME, "namespace": HCO_NAMESPACE,
                     "finalizers": ["kubevirt.io/hyperconverged"],
                     "labels": {"app": "kubevirt-hyperconverged"}},
        "spec": {"liveMigrationConfig": dict(DEFAULT_MIGRATIONS),
                 "workloadUpdateStrategy": copy.deepcopy(DEFAULT_WORKLOAD_UPDATE),
                 "uninstallStrategy": "BlockUninstallIfWorkloadsExist"},
        "status": {"conditions": [{"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": stamp,
                                   "observedGeneration": 1} for t, s, r, m in conditions],
                   "observedGeneration": 1},
    }


def desired_sections(hc: dict) -> dict:
    """The KubeVirt CR fields HCO renders from the HyperConverged CR."""
    spec = hc.get("spec") or {}
    live = spec.get("liveMigrationConfig") or {}
    return {"migrations": {k: live[k] for k in MIGRATION_FIELDS if live.get(k) is not None},
            "workloadUpdateStrategy": copy.deepcopy(spec.get("workloadUpdateStrategy") or {}),
            "vmRolloutStrategy": "LiveUpdate"}


def live_sections(kubevirt: dict) -> dict:
    spec = kubevirt.get("spec") or {}
    configuration = spec.get("configuration") or {}
    return {"migrations": configuration.get("migrations") or {},
            "workloadUpdateStrategy": spec.get("workloadUpdateStrategy") or {},
            "vmRolloutStrategy": configuration.get("vmRolloutStrategy")}


class HyperConvergedController(Controller):
    name = "hco"
    watches = (HYPERCONVERGED, KUBEVIRT)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        key = (HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)
        if event.gr == HYPERCONVERGED:
            yield key
        elif event.gr == KUBEVIRT:  # a direct edit is put back one transition later, as HCO's next reconcile does
            self.rt.requeue(self, HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)

    def start(self, rt: Runtime) -> None:
        if flavor(rt.options) != "openshift":
            return
        if rt.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME) is None:
            rt.service.create(HYPERCONVERGED, build_hyperconverged(), keep_status=True)
        self._own(rt)

    def _own(self, rt: Runtime) -> None:
        hc = rt.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)
        namespace, name = kubevirt_location(rt.options)
        kubevirt = rt.store.get(KUBEVIRT, namespace, name)
        if hc is None or kubevirt is None:
            return
        refs = kubevirt["metadata"].get("ownerReferences") or []
        if any(r.get("kind") == "HyperConverged" for r in refs):
            return
        owner = {"apiVersion": "hco.kubevirt.io/v1beta1", "kind": "HyperConverged", "name": HCO_NAME,
                 "uid": hc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        rt.service.mutate(KUBEVIRT, namespace, name,
                          lambda obj: obj["metadata"].setdefault("ownerReferences", []).append(owner))

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if flavor(rt.options) != "openshift":
            return
        hc = rt.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)
        kv_ns, kv_name = kubevirt_location(rt.options)
        kubevirt = rt.store.get(KUBEVIRT, kv_ns, kv_name)
        if hc is None or kubevirt is None or hc["metadata"].get("deletionTimestamp"):
            return
        self._own(rt)
        wanted = desired_sections(hc)
        if live_sections(kubevirt) == wanted:
            self._observe(rt, hc)
            return

        def render(obj: dict) -> None:
            configuration = obj.setdefault("spec", {}).setdefault("configuration", {})
            configuration["migrations"] = wanted["migrations"]
            configuration["vmRolloutStrategy"] = wanted["vmRolloutStrategy"]
            obj["spec"]["workloadUpdateStrategy"] = wanted["workloadUpdateStrategy"]
        try:
            rt.service.mutate(KUBEVIRT, kv_ns, kv_name, render)
        except errors.ApiError:
            rt.requeue(self, HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)
            return
        self._observe(rt, hc)

    def _observe(self, rt: Runtime, hc: dict) -> None:
        generation = hc["metadata"].get("generation", 1)
        if (hc.get("status") or {}).get("observedGeneration") == generation:
            return

        def stamp(obj: dict) -> None:
            status = obj.setdefault("status", {})
            status["observedGeneration"] = generation
            for condition in status.get("conditions") or []:
                condition["observedGeneration"] = generation
        rt.service.mutate(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME, stamp, subresource="status")
