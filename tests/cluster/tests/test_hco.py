"""The simulated HyperConverged operator: it owns the KubeVirt CR's migration settings on OpenShift."""
from __future__ import annotations

from tests.cluster.controllers.hco import HCO_NAME, HCO_NAMESPACE, HYPERCONVERGED, HyperConvergedController
from tests.cluster.controllers.keys import KUBEVIRT
from tests.cluster.controllers.virt import VirtualMachineController
from tests.cluster.tests.harness import InProcessCluster

KV = ("openshift-cnv", "kubevirt-kubevirt-hyperconverged")


def _cluster(flavor: str = "openshift") -> InProcessCluster:
    cluster = InProcessCluster([VirtualMachineController(), HyperConvergedController()], flavor=flavor,
                               time_scale=0.01, options={"flavor": flavor})
    cluster.rt.start()
    return cluster


def _migrations(cluster) -> dict:
    return cluster.store.get(KUBEVIRT, *KV)["spec"]["configuration"]["migrations"]


def test_hyperconverged_owns_the_kubevirt_cr_and_renders_its_migration_settings():
    with _cluster() as cluster:
        hc = cluster.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)
        assert hc["spec"]["liveMigrationConfig"]["parallelMigrationsPerCluster"] == 5
        kubevirt = cluster.wait(lambda: (lambda kv: kv if kv["metadata"].get("ownerReferences") else None)(
            cluster.store.get(KUBEVIRT, *KV)), what="owner reference")
        [owner] = kubevirt["metadata"]["ownerReferences"]
        assert owner["kind"] == "HyperConverged" and owner["controller"] is True and owner["uid"] == hc["metadata"]["uid"]

        def change(obj):
            obj["spec"]["liveMigrationConfig"]["parallelOutboundMigrationsPerNode"] = 3
            obj["spec"]["workloadUpdateStrategy"]["batchEvictionSize"] = 4
        cluster.service.mutate(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME, change)
        cluster.wait(lambda: _migrations(cluster)["parallelOutboundMigrationsPerNode"] == 3, what="propagated")
        assert cluster.store.get(KUBEVIRT, *KV)["spec"]["workloadUpdateStrategy"]["batchEvictionSize"] == 4
        cluster.wait(lambda: cluster.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)["status"]["observedGeneration"]
                     == cluster.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME)["metadata"]["generation"],
                     what="observedGeneration")


def test_direct_edits_of_the_kubevirt_cr_are_put_back():
    with _cluster() as cluster:
        def edit(obj):
            obj["spec"]["configuration"]["migrations"]["parallelMigrationsPerCluster"] = 9
            obj["spec"]["configuration"]["migrations"]["unsafeMigrationOverride"] = True
            obj["spec"]["configuration"]["vmRolloutStrategy"] = "Stage"
            obj["spec"]["configuration"]["developerConfiguration"]["featureGates"].append("Sidecar")
        cluster.service.mutate(KUBEVIRT, *KV, edit)
        cluster.wait(lambda: _migrations(cluster)["parallelMigrationsPerCluster"] == 5, what="reverted")
        spec = cluster.store.get(KUBEVIRT, *KV)["spec"]
        assert "unsafeMigrationOverride" not in spec["configuration"]["migrations"]
        assert spec["configuration"]["vmRolloutStrategy"] == "LiveUpdate"
        assert "Sidecar" in spec["configuration"]["developerConfiguration"]["featureGates"]  # not simulated


def test_kubernetes_flavour_has_no_hco():
    with _cluster("kubernetes") as cluster:
        assert cluster.store.get(HYPERCONVERGED, HCO_NAMESPACE, HCO_NAME) is None
        assert not cluster.store.get(KUBEVIRT, "kubevirt", "kubevirt")["metadata"].get("ownerReferences")
