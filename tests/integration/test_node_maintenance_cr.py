"""node_maintenance with method=node_maintenance_cr: the Node Maintenance Operator of an openshift-flavour
cluster drains node01 (three live-migratable VMs and a plain pod) through a NodeMaintenance CR; check
mode, idempotence, the end of the maintenance, a budget that outlasts wait_timeout, and the error on a
cluster without the operator (kubernetes flavour)."""
from __future__ import annotations

import pytest

from tests.integration.conftest import Runner
from tests.integration import node_fleet as fleet

NS = "nmo"
VMS = ["vm1", "vm2", "vm3"]
NM_PATH = "/apis/nodemaintenance.medik8s.io/v1beta1/nodemaintenances"
CR = {"method": "node_maintenance_cr"}


@pytest.fixture(scope="module")
def openshift(cluster_factory, collections_path, tmp_path_factory):
    cluster = cluster_factory("--flavor", "openshift", time_scale=0.1)
    runner = Runner(cluster, collections_path, tmp_path_factory.mktemp("node-maintenance-cr"))
    fleet.namespace(cluster, NS)
    fleet.fill_node(cluster, NS, "node01", VMS)
    fleet.pod(cluster, NS, "web-1", "node01", {"app": "web"})
    return cluster, runner


def _node(cluster, name="node01"):
    return fleet.call(cluster, "GET", "/api/v1/nodes/%s" % name)


def test_check_mode_sends_the_cr_as_a_dry_run_only(openshift):
    cluster, runner = openshift
    run = runner.run("node_maintenance", dict(CR, name="node01", reason="kernel update"), check=True, diff=True)
    assert run.changed and not run.failed and run.writes == [], run.msg
    assert [(r["method"], r["dry_run"]) for r in run.requests if r["path"].startswith(NM_PATH)] == \
        [("GET", False), ("POST", True)]
    assert run.result["would_evict"][0]["vms"] == ["nmo/%s" % n for n in VMS]
    assert run.result["diff"]["after"] == {"node01": {"unschedulable": True, "node_maintenance": "node01"}}
    assert fleet.call(cluster, "GET", NM_PATH)["items"] == []


def test_drain_through_the_cr_then_idempotent_then_ended(openshift):
    cluster, runner = openshift
    run = runner.run("node_maintenance", dict(CR, name="node01", reason="kernel update", wait_timeout=90))
    assert run.changed and not run.failed, run.msg
    assert [(w["method"], w["path"]) for w in run.writes] == [("POST", NM_PATH)]  # NMO does the rest
    outcomes = {vm["name"]: vm for vm in run.result["vms"]}
    assert {n: outcomes[n]["outcome"] for n in VMS} == {n: "migrated" for n in VMS}
    for name in VMS:
        assert outcomes[name]["target_node"] in ("node02", "node03")
        assert outcomes[name]["migration"].startswith("kubevirt-evacuation-")
    assert run.result["nodes"][0]["node_maintenance"] == "node01"
    assert any(p["subject"] == "NodeMaintenance node01" and p["state"].startswith("Running, drain")
               for p in run.result["progress"])
    cr = fleet.call(cluster, "GET", NM_PATH + "/node01")
    assert cr["spec"] == {"nodeName": "node01", "reason": "kernel update"}
    assert cr["status"]["phase"] == "Succeeded" and cr["status"]["drainProgress"] == 100
    assert cr["status"]["evictionPods"] == 4  # three launcher pods and web-1
    node = _node(cluster)
    assert node["spec"]["unschedulable"] is True and "medik8s.io/drain" in {t["key"] for t in node["spec"]["taints"]}
    assert {v["status"]["nodeName"] for v in fleet.vmis(cluster, NS)} <= {"node02", "node03"}

    again = runner.run("node_maintenance", dict(CR, name="node01"))
    assert not again.changed and not again.failed and again.writes == []

    back = runner.run("node_maintenance", dict(CR, name="node01", state="absent"), diff=True)
    assert back.changed and not back.failed, back.msg
    assert [w["method"] for w in back.writes] == ["DELETE"]
    assert back.result["diff"]["after"] == {"node01": {"unschedulable": False, "node_maintenance": None}}
    node = _node(cluster)
    assert not node["spec"].get("unschedulable") and not node["spec"].get("taints")
    assert fleet.call(cluster, "GET", NM_PATH)["items"] == []


def test_a_budget_that_outlasts_the_wait_reports_last_error_and_pending_pods(openshift):
    cluster, runner = openshift
    fleet.pod(cluster, NS, "db-1", "node03", {"app": "db"})
    fleet.call(cluster, "POST", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % NS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}})
    run = runner.run("node_maintenance", dict(CR, name="node03", wait_timeout=5))
    assert run.failed
    assert run.msg.startswith("NodeMaintenance node03 did not succeed within wait_timeout: Running, drain ")
    assert "1 pod pending (nmo/db-1)" in run.msg
    assert 'lastError: error when evicting pods/"db-1" -n "nmo": global timeout reached: 30s' in run.msg
    assert run.writes[0]["method"] == "POST" and len(run.writes) == 1


def test_kubernetes_flavour_without_the_operator_fails_before_any_write(
        cluster_factory, collections_path, tmp_path_factory):
    cluster = cluster_factory("--flavor", "kubernetes", time_scale=0.1)
    runner = Runner(cluster, collections_path, tmp_path_factory.mktemp("node-maintenance-cr-k8s"))
    run = runner.run("node_maintenance", dict(CR, name="node01"))
    assert run.failed and run.writes == []
    assert run.msg == ("method=node_maintenance_cr: the cluster does not serve nodemaintenances.nodemaintenance.medik8s.io/"
                       "v1beta1 (the Node Maintenance Operator is not installed); use method=drain")
