"""node_maintenance on a node holding 12 VMs (10 live-migratable, 2 on ReadWriteOnce claims; one of
each guarded by a PodDisruptionBudget), a plain pod guarded by a budget and a DaemonSet pod, on a
cluster of its own."""
from __future__ import annotations

import re
import threading
import time

import pytest

from tests.integration.conftest import Runner
from tests.integration import node_fleet as fleet

NS = "fleet"
MIGRATABLE = ["vm%02d" % i for i in range(1, 11)]
RWO = ["rwo1", "rwo2"]


@pytest.fixture(scope="module")
def drained(cluster_factory, collections_path, tmp_path_factory):
    cluster = cluster_factory("--flavor", "kubernetes", time_scale=0.1)
    runner = Runner(cluster, collections_path, tmp_path_factory.mktemp("node-maintenance"))
    fleet.namespace(cluster, NS)
    fleet.fill_node(cluster, NS, "node01", MIGRATABLE, RWO, memory="512Mi")
    fleet.pod(cluster, NS, "web-1", "node01", {"app": "web"})
    fleet.call(cluster, "POST", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % NS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    for vm in ("vm03", "rwo2"):  # budgets on the VMs' launcher pods (the label virt-launcher pods carry)
        fleet.call(cluster, "POST", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % NS, {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "%s-guard" % vm},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"vm.kubevirt.io/name": vm}}}})
    fleet.daemonset_pod(cluster, NS, "node01")
    return cluster, runner


def _writes(run):
    return [r for r in run.requests if r["write"] and not r["dry_run"]]


def test_fail_policy_refuses_with_zero_writes_naming_the_vms(drained):
    cluster, runner = drained
    run = runner.run("node_maintenance", {"name": "node01"})
    assert run.failed and _writes(run) == []
    assert "fleet/rwo1 on node01 (LiveMigratable is False, reason DisksNotLiveMigratable" in run.msg
    assert "fleet/rwo2 on node01" in run.msg and "vm01" not in run.msg


def test_check_mode_reports_what_would_be_evicted_and_writes_nothing(drained):
    cluster, runner = drained
    run = runner.run("node_maintenance", {"name": "node01", "non_migratable": "stop"}, check=True, diff=True)
    assert run.changed and not run.failed and _writes(run) == []
    plan = run.result["would_evict"][0]
    assert plan["vms"] == ["fleet/%s" % n for n in MIGRATABLE]
    assert plan["non_migratable"] == ["fleet/rwo1", "fleet/rwo2"] and plan["pods"] == ["fleet/web-1"]
    assert run.result["diff"] == {"before": {"node01": {"unschedulable": False}}, "after": {"node01": {"unschedulable": True}}}
    assert not fleet.call(cluster, "GET", "/api/v1/nodes/node01")["spec"].get("unschedulable")


def test_drain_within_limits_then_idempotent_then_uncordon(drained):
    cluster, runner = drained
    peak = {"node01": 0, "all": 0}
    stop = threading.Event()

    def sample():  # the VMIM objects in flight, looked at every 50 ms while the drain runs
        while not stop.is_set():
            active = [m for m in fleet.migrations(cluster, NS)
                      if (m.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            peak["all"] = max(peak["all"], len(active))
            time.sleep(0.05)

    # The PDB keeps web-1 until a second replica is Ready elsewhere: the drain retries meanwhile.
    later = threading.Timer(2.0, fleet.pod, (cluster, NS, "web-2", "node02", {"app": "web"}))
    # rwo2's budget holds its stop (a deletion, which no budget checks itself) until it is relaxed;
    # vm03's does not hold its evacuation: KubeVirt's eviction admission answers before any budget.
    relax = threading.Timer(2.5, fleet.call, (cluster, "PATCH", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/"
                                              "rwo2-guard" % NS, {"spec": {"minAvailable": 0}}),
                            {"content_type": "application/merge-patch+json"})
    sampler = threading.Thread(target=sample)
    later.start()
    relax.start()
    sampler.start()
    try:
        run = runner.run("node_maintenance", {"name": "node01", "non_migratable": "stop", "wait_timeout": 90})
    finally:
        stop.set()
        sampler.join()
        later.join()
        relax.join()
    assert run.changed and not run.failed, run.msg
    outcomes = {vm["name"]: vm for vm in run.result["vms"]}
    assert {n: outcomes[n]["outcome"] for n in MIGRATABLE + RWO} == dict(
        [(n, "migrated") for n in MIGRATABLE] + [(n, "stopped") for n in RWO])
    for name in MIGRATABLE:
        entry = outcomes[name]
        assert entry["source_node"] == "node01" and entry["target_node"] in ("node02", "node03")
        assert entry["migration"].startswith("kubevirt-evacuation-") and entry["duration"] > 0
    assert run.result["nodes"][0]["evicted_pods"] == ["fleet/web-1"]
    assert run.result["nodes"][0]["skipped_pods"] == [{"namespace": NS, "name": "agent-node01", "reason": "DaemonSet pod"}]
    assert any("migrations in flight" in p["state"] for p in run.result["progress"])
    assert any(re.match(r"\d+ VMs? left \(1 waiting on a disruption budget\)", p["state"]) for p in run.result["progress"])
    assert outcomes["rwo2"]["duration"] is not None
    # vm03's own budget (minAvailable 1 on its only launcher pod) did not hold it: KubeVirt's eviction
    # webhook answered 429 and started the evacuation before the API server looked at budgets; the
    # source pod then completed (KubeVirt ended it), no eviction of it went through.
    vm03 = fleet.call(cluster, "GET", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances/vm03" % NS)
    state = vm03["status"]["migrationState"]
    assert state["sourceNode"] == "node01" and state["completed"] and state["targetNode"] == outcomes["vm03"]["target_node"]
    tries = [r["status"] for r in run.requests if r["path"].endswith("/pods/%s/eviction" % state["sourcePod"])]
    assert tries and set(tries) == {429}, tries
    source = fleet.call(cluster, "GET", "/api/v1/namespaces/%s/pods/%s" % (NS, state["sourcePod"]))
    assert source["status"]["phase"] == "Succeeded" and not source["metadata"].get("deletionTimestamp")
    guard = fleet.call(cluster, "GET", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/vm03-guard" % NS)
    assert guard["spec"]["minAvailable"] == 1
    # Limits: 2 outbound per node (every migration here leaves node01), from the objects themselves.
    migrations = fleet.migrations(cluster, NS)
    assert len(migrations) == len(MIGRATABLE)
    assert peak["all"] <= 2 and fleet.max_concurrent(migrations) <= 2
    for vmi in fleet.vmis(cluster, NS):
        assert vmi["status"]["nodeName"] != "node01"
    assert {v["metadata"]["name"] for v in fleet.vmis(cluster, NS)} == set(MIGRATABLE)
    vm = fleet.call(cluster, "GET", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/rwo1" % NS)
    assert vm["spec"]["runStrategy"] == "Halted"
    assert fleet.call(cluster, "GET", "/api/v1/nodes/node01")["spec"]["unschedulable"] is True
    evictions = [r for r in run.requests if r["path"].endswith("/pods/web-1/eviction")]
    assert len(evictions) >= 2 and evictions[0]["status"] == 429 and evictions[-1]["status"] == 201

    again = runner.run("node_maintenance", {"name": "node01", "non_migratable": "stop"})
    assert not again.changed and not again.failed and _writes(again) == []

    back = runner.run("node_maintenance", {"name": "node01", "state": "absent"}, diff=True)
    assert back.changed and back.result["diff"]["after"] == {"node01": {"unschedulable": False}}
    assert not fleet.call(cluster, "GET", "/api/v1/nodes/node01")["spec"].get("unschedulable")
    assert [w["verb"] for w in _writes(back)] == ["patch"]
    still = runner.run("node_maintenance", {"name": "node01", "state": "absent"})
    assert not still.changed and _writes(still) == []


def test_batches_of_nodes_one_after_the_other_and_leave_policy(drained):
    cluster, runner = drained
    # rwo1 runs (its claim is ReadWriteOnce: it cannot live-migrate) wherever it lands, rwo2 does not;
    # set here so that the test also holds when run on its own.
    for name, strategy in (("rwo1", "Always"), ("rwo2", "Halted")):
        fleet.call(cluster, "PATCH", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/%s" % (NS, name),
                   {"spec": {"runStrategy": strategy}}, content_type="application/merge-patch+json")
    fleet.wait_running(cluster, NS, len(MIGRATABLE) + 1)
    rwo_node = next(v for v in fleet.vmis(cluster, NS) if v["metadata"]["name"] == "rwo1")["status"]["nodeName"]
    # web-2 (on node02) is the last replica its PDB allows: a third one on node01 lets it go.
    fleet.pod(cluster, NS, "web-3", "node01", {"app": "web"})
    run = runner.run("node_maintenance", {"names": ["node02", "node03"], "batch_size": 1, "non_migratable": "leave",
                                          "wait_timeout": 120})
    assert run.changed and not run.failed, run.msg
    assert [n["name"] for n in run.result["nodes"]] == ["node02", "node03"]
    outcomes = {vm["name"]: vm for vm in run.result["vms"]}
    if rwo_node in ("node02", "node03"):
        assert outcomes["rwo1"]["outcome"] == "left" and outcomes["rwo1"]["source_node"] == rwo_node
    placed = {v["metadata"]["name"]: v["status"]["nodeName"] for v in fleet.vmis(cluster, NS)}
    # Everything that could move is on node01 now: node02's VMs may have gone to node03 first, then on.
    assert {placed[n] for n in MIGRATABLE} == {"node01"}, placed
    assert placed["rwo1"] == rwo_node  # left where it was
    for node in ("node02", "node03"):
        assert fleet.call(cluster, "GET", "/api/v1/nodes/%s" % node)["spec"]["unschedulable"] is True
    assert fleet.max_concurrent(fleet.migrations(cluster, NS)) <= 5
    back = runner.run("node_maintenance", {"names": ["node02", "node03"], "state": "absent"})
    assert back.changed and [w["verb"] for w in _writes(back)] == ["patch", "patch"]
