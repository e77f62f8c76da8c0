"""Live migration, limits, abort, eviction and evacuation (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.api.disruption import PDB, budget_numbers
from tests.cluster.api.subresources import evict_pod
from tests.cluster.controllers.launcher import vmi_id
from tests.cluster.tests.harness import KV, NODE, POD, VM, VMI, VMIM
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest

EVICTION_WEBHOOK = 'admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: '


@pytest.fixture
def sim():
    with Sim(time_scale=0.004) as simulation:
        yield simulation


def start(sim: Sim, name: str, **kw) -> dict:
    sim.create(VM, vm_manifest(name, **kw))
    sim.wait_printable(name, "Running")
    return sim.wait(lambda: (v := sim.get(VMI, name)) and v["status"].get("interfaces") and v)


def launcher_of(sim: Sim, vmi: dict) -> dict:
    return next(p for p in sim.store.list(POD)[0] if p["spec"].get("nodeName") == vmi["status"]["nodeName"]
                and p["metadata"]["annotations"].get("kubevirt.io/domain") == vmi["metadata"]["name"]
                and p["status"]["phase"] == "Running")


def migration_phases(sim: Sim, name: str, timeout: float = 10.0) -> list[str]:
    """Phases of the migration ``name`` until it is final, from the store's event stream."""
    watcher, backlog = sim.store.watch(VMIM, "demo", 0)
    seen: list[str] = []
    try:
        events = list(backlog)
        while True:
            event = events.pop(0) if events else watcher.next(timeout)
            assert event is not None, seen
            if event.obj["metadata"]["name"] != name:
                continue
            phase = (event.obj.get("status") or {}).get("phase")
            if phase and (not seen or seen[-1] != phase):
                seen.append(phase)
            if phase in ("Succeeded", "Failed"):
                return seen
    finally:
        watcher.close()


def migrate(sim: Sim, name: str, **annotations) -> str:
    mig = sim.create(VMIM, {"metadata": {"generateName": f"{name}-mig-", "annotations": annotations},
                            "spec": {"vmiName": name}})
    return mig["metadata"]["name"]


def set_migration_config(sim: Sim, **config) -> None:
    sim.update(KV, "kubevirt", "kubevirt", lambda kv: kv["spec"]["configuration"]["migrations"].update(config))


def test_successful_migration_moves_the_vmi(sim):
    vmi = start(sim, "vm1", memory="256Mi")
    source_node, source_ip = vmi["status"]["nodeName"], vmi["status"]["interfaces"][0]["ipAddress"]
    source_pod = launcher_of(sim, vmi)
    assert sim.call("virtualmachines", "vm1", "migrate") == (202, None)
    name = sim.store.list(VMIM)[0][0]["metadata"]["name"]
    printable = sim.watch_printable("vm1", "Migrating")
    assert printable[-1] == "Migrating"
    assert migration_phases(sim, name) == ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady",
                                           "Running", "Succeeded"]
    sim.wait_printable("vm1", "Running")
    vmi = sim.get(VMI, "vm1")
    state = vmi["status"]["migrationState"]
    assert state["completed"] is True and not state.get("failed")
    assert state["sourceNode"] == source_node and state["targetNode"] == vmi["status"]["nodeName"] != source_node
    assert state["sourcePod"] == source_pod["metadata"]["name"] and state["mode"] == "PreCopy"
    assert state["startTimestamp"] and state["endTimestamp"]
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == vmi["status"]["nodeName"]
    assert "kubevirt.io/migrationTargetNodeName" not in vmi["metadata"]["labels"]
    target = sim.get(POD, state["targetPod"])
    assert target["status"]["phase"] == "Running" and target["spec"]["nodeName"] == state["targetNode"]
    assert target["metadata"]["labels"]["kubevirt.io/migrationJobUID"] == \
        sim.get(VMIM, name)["metadata"]["uid"]
    assert vmi["status"]["interfaces"][0]["ipAddress"] == target["status"]["podIP"] != source_ip
    assert sim.get(POD, source_pod["metadata"]["name"])["status"]["phase"] == "Succeeded"
    mig = sim.get(VMIM, name)
    assert mig["status"]["migrationState"]["completed"] is True
    assert "finalizers" not in mig["metadata"]
    assert [p["phase"] for p in mig["status"]["phaseTransitionTimestamps"]][-1] == "Succeeded"


def test_non_migratable_vmi_is_refused(sim):
    sim.bound_pvc("rwo", ("ReadWriteOnce",))
    start(sim, "vm1", volumes=[{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "rwo"}}])
    reason = ("Cannot migrate VMI, Reason: DisksNotLiveMigratable, Message: cannot migrate VMI: PVC rwo is not "
              "shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)")
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "migrate"))
    assert (err.code, err.message) == (500, 'Internal error occurred: admission webhook '
                                            '"migration-create-validator.kubevirt.io" denied the request: ' + reason)
    err = api_error(lambda: migrate(sim, "vm1"))
    assert err.code == 400 and err.message.endswith(reason)


def test_bridge_on_pod_network_is_not_live_migratable(sim):
    vm = vm_manifest("vm1", networks=[{"name": "default", "pod": {}}])
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [{"name": "default", "bridge": {}}]
    sim.create(VM, vm)
    sim.wait_printable("vm1", "Running")
    cond = sim.wait(lambda: next((c for c in sim.get(VMI, "vm1")["status"]["conditions"]
                                  if c["type"] == "LiveMigratable"), None))
    assert (cond["status"], cond["reason"]) == ("False", "InterfaceNotLiveMigratable")
    assert cond["message"] == ("cannot migrate VMI which does not use masquerade or a migratable plugin to connect "
                               "to the pod network")


def test_second_migration_in_flight_is_refused(sim):
    start(sim, "vm1", memory="8Gi")
    first = migrate(sim, "vm1")
    err = api_error(lambda: migrate(sim, "vm1"))
    uid = sim.get(VMIM, first)["metadata"]["uid"]
    assert err.message.endswith(f"in-flight migration detected. Active migration job ({uid}) is currently already "
                                "in progress for VMI vm1.")


def cordon_all_but(sim: Sim, keep: str) -> None:
    """Mark every node but ``keep`` unschedulable, so that a migration target cannot be placed."""
    for node in ("node01", "node02", "node03"):
        if node != keep:
            sim.update(NODE, None, node, lambda n: n["spec"].update(unschedulable=True))


def test_no_other_node_fits(sim):
    vmi = start(sim, "vm1")
    cordon_all_but(sim, vmi["status"]["nodeName"])
    name = migrate(sim, "vm1", **{"kubevirt.io/migrationUnschedulablePodTimeoutSeconds": "5"})
    sim.wait(lambda: any(p["metadata"]["labels"].get("kubevirt.io/migrationJobUID") and
                         p["status"].get("conditions") for p in sim.store.list(POD)[0]), what="target pod")
    target = next(p for p in sim.store.list(POD)[0] if p["metadata"]["labels"].get("kubevirt.io/migrationJobUID"))
    scheduled = target["status"]["conditions"][0]
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert scheduled["message"] == ("0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, "
                                    "2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption "
                                    "is not helpful for scheduling.")
    assert migration_phases(sim, name) == ["Pending", "Scheduling", "Failed"]
    assert sim.get(POD, target["metadata"]["name"]) is None
    messages = [e["message"] for e in sim.store.list(("", "events"))[0]
                if e["involvedObject"]["name"] == name]
    assert "Migration target pod for VMI [demo/vm1] is currently unschedulable." in messages
    assert "Migration target pod was removed during active migration." in messages
    assert sim.get(VMI, "vm1")["status"]["nodeName"] == vmi["status"]["nodeName"]
    assert sim.vm_status("vm1") == "Running"


def max_parallel(sim: Sim, names: list[str], timeout: float = 10.0) -> int:
    """Run the migrations ``names`` (already created) to the end; the most that were active at once."""
    watcher, backlog = sim.store.watch(VMIM, "demo", 0)
    phases = {name: "" for name in names}
    most = 0
    try:
        events = list(backlog)
        while any(p not in ("Succeeded", "Failed") for p in phases.values()):
            event = events.pop(0) if events else watcher.next(timeout)
            assert event is not None, phases
            if event.obj["metadata"]["name"] in phases:
                phases[event.obj["metadata"]["name"]] = (event.obj.get("status") or {}).get("phase", "")
            most = max(most, sum(p not in ("", "Pending", "Succeeded", "Failed") for p in phases.values()))
    finally:
        watcher.close()
    assert set(phases.values()) == {"Succeeded"}, phases
    return most


def two_on_one_node(sim: Sim, memory: str) -> list[str]:
    """Start VMs a..d (four VMs, three nodes) and answer the names of two that share a node."""
    for name in ("a", "b", "c", "d"):
        start(sim, name, memory=memory)
    by_node: dict[str, list[str]] = {}
    for name in ("a", "b", "c", "d"):
        by_node.setdefault(sim.get(VMI, name)["status"]["nodeName"], []).append(name)
    return next(names for names in by_node.values() if len(names) == 2)


def test_outbound_limit_per_node_keeps_extra_migrations_pending(sim):
    set_migration_config(sim, parallelOutboundMigrationsPerNode=1)
    pair = two_on_one_node(sim, memory="512Mi")
    assert max_parallel(sim, [migrate(sim, pair[0]), migrate(sim, pair[1])]) == 1


def test_outbound_limit_allows_two_by_default(sim):
    pair = two_on_one_node(sim, memory="2Gi")
    assert max_parallel(sim, [migrate(sim, pair[0]), migrate(sim, pair[1])]) == 2


def test_cluster_limit(sim):
    set_migration_config(sim, parallelMigrationsPerCluster=1)
    start(sim, "a", memory="512Mi")
    start(sim, "b", memory="512Mi")
    assert max_parallel(sim, [migrate(sim, "a"), migrate(sim, "b")]) == 1


def test_deleting_a_pending_migration_aborts_it(sim):
    vmi = start(sim, "vm1")
    cordon_all_but(sim, vmi["status"]["nodeName"])
    name = migrate(sim, "vm1")
    sim.wait(lambda: (sim.get(VMIM, name).get("status") or {}).get("phase") == "Scheduling")
    sim.delete(VMIM, "demo", name)
    assert sim.get(VMIM, name)["metadata"]["deletionTimestamp"]
    sim.wait(lambda: sim.get(VMIM, name) is None, what="migration gone")
    assert not any(p["metadata"]["labels"].get("kubevirt.io/migrationJobUID") for p in sim.store.list(POD)[0])
    assert sim.get(VMI, "vm1")["status"]["nodeName"] == vmi["status"]["nodeName"]


def test_deleting_a_running_migration_aborts_it(sim):
    vmi = start(sim, "vm1", memory="16Gi")
    name = migrate(sim, "vm1")
    sim.wait(lambda: (sim.get(VMIM, name).get("status") or {}).get("phase") == "Running", what="running")
    sim.delete(VMIM, "demo", name)
    sim.wait(lambda: sim.get(VMIM, name) is None, what="migration gone")
    state = sim.get(VMI, "vm1")["status"]["migrationState"]
    assert state["abortRequested"] is True and state["abortStatus"] == "Succeeded"
    assert state["failed"] is True and state["failureReason"] == "Live migration has been aborted"
    assert sim.get(VMI, "vm1")["status"]["nodeName"] == vmi["status"]["nodeName"]
    sim.wait_printable("vm1", "Running")


def test_eviction_of_a_live_migratable_vmi_is_429_and_evacuates(sim):
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate")
    pod = launcher_of(sim, vmi)
    err = api_error(lambda: sim.evict(pod["metadata"]["name"]))
    assert err.code == 429 and "reason" not in err.status()
    assert err.message == EVICTION_WEBHOOK + 'Eviction triggered evacuation of VMI "demo/vm1"'
    assert sim.get(POD, pod["metadata"]["name"]) is not None
    assert sim.get(VMI, "vm1")["status"]["evacuationNodeName"] == vmi["status"]["nodeName"]
    err = api_error(lambda: sim.evict(pod["metadata"]["name"]))
    assert err.message == EVICTION_WEBHOOK + 'Evacuation in progress: Eviction triggered evacuation of VMI "demo/vm1"'
    mig = sim.wait(lambda: sim.store.list(VMIM)[0])[0]
    assert mig["metadata"]["name"].startswith("kubevirt-evacuation-")
    assert mig["metadata"]["annotations"]["kubevirt.io/evacuationMigration"] == vmi["status"]["nodeName"]
    assert migration_phases(sim, mig["metadata"]["name"])[-1] == "Succeeded"
    moved = sim.get(VMI, "vm1")
    assert moved["status"]["nodeName"] != vmi["status"]["nodeName"]
    assert "evacuationNodeName" not in moved["status"]
    # the old launcher pod has completed: evicting it now goes through
    sim.evict(pod["metadata"]["name"])


def test_eviction_dry_run_marks_nothing(sim):
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate")
    err = api_error(lambda: sim.evict(launcher_of(sim, vmi)["metadata"]["name"], dry_run=True))
    assert err.code == 429
    assert "evacuationNodeName" not in sim.get(VMI, "vm1")["status"]


def test_eviction_without_strategy_deletes_the_pod(sim):
    vmi = start(sim, "vm1")  # kubernetes flavour: no cluster-wide eviction strategy
    uid = vmi["metadata"]["uid"]
    sim.evict(launcher_of(sim, vmi)["metadata"]["name"])
    sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["metadata"]["uid"] != uid, what="restarted elsewhere")


def test_eviction_of_a_non_migratable_vmi(sim):
    sim.bound_pvc("rwo", ("ReadWriteOnce",))
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate",
                volumes=[{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "rwo"}}])
    err = api_error(lambda: sim.evict(launcher_of(sim, vmi)["metadata"]["name"]))
    assert err.message == EVICTION_WEBHOOK + ("VMI vm1 is configured with an eviction strategy but is not "
                                              "live-migratable")
    sim.update(VM, "demo", "vm1", lambda o: o["spec"]["template"]["spec"].update(
        evictionStrategy="LiveMigrateIfPossible"))
    sim.call("virtualmachines", "vm1", "restart")
    vmi = sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["spec"].get("evictionStrategy") ==
                   "LiveMigrateIfPossible" and v["status"].get("phase") == "Running" and v)
    sim.evict(launcher_of(sim, vmi)["metadata"]["name"])  # not migratable: plain eviction


def _rest_evict(sim: Sim, pod: str) -> None:
    """The eviction REST as the API server runs it: admission (KubeVirt's webhook), the pod's budget, the deletion."""
    evict_pod(sim.registry, sim.store, sim.service, "demo", pod, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                                  "metadata": {"name": pod, "namespace": "demo"}},
              "admin", False)


def _guard(sim: Sim, vm: str, label: str = "vm.kubevirt.io/name") -> dict:
    return sim.create(PDB, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                            "metadata": {"name": f"{vm}-guard"},
                            "spec": {"minAvailable": 1, "selector": {"matchLabels": {label: vm}}}})


@pytest.mark.parametrize("label", ["vm.kubevirt.io/name", "kubevirt.io/domain"])
def test_a_user_budget_on_the_launcher_pod_does_not_hold_its_evacuation(sim, label):
    """pod-eviction-admitter.go runs as admission, before the eviction REST looks at budgets: the
    launcher pod of a live-migratable VMI gets KubeVirt's 429 and an evacuation even though its own
    budget allows no disruption; the source pod then completes (KubeVirt ends it, nobody evicts it)."""
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate")
    pod = launcher_of(sim, vmi)
    budget = _guard(sim, "vm1", label)
    assert budget_numbers(budget, sim.store.list(POD, "demo")[0]) == (1, 1)  # an eviction would violate it
    err = api_error(lambda: _rest_evict(sim, pod["metadata"]["name"]))
    assert err.code == 429 and err.details is None  # the webhook's denial: no DisruptionBudget cause
    assert err.message == EVICTION_WEBHOOK + 'Eviction triggered evacuation of VMI "demo/vm1"'
    mig = sim.wait(lambda: sim.store.list(VMIM)[0])[0]
    assert mig["metadata"]["name"].startswith("kubevirt-evacuation-")
    assert migration_phases(sim, mig["metadata"]["name"])[-1] == "Succeeded"
    moved = sim.get(VMI, "vm1")
    assert moved["status"]["nodeName"] != vmi["status"]["nodeName"]
    source = sim.get(POD, pod["metadata"]["name"])
    assert source["status"]["phase"] == "Succeeded" and not source["metadata"].get("deletionTimestamp")
    target = sim.get(POD, moved["status"]["migrationState"]["targetPod"])
    assert target["metadata"]["labels"][label] == "vm1"  # the budget now guards the target pod
    assert budget_numbers(budget, sim.store.list(POD, "demo")[0]) == (1, 1)
    # A completed pod: the webhook lets it through and the eviction REST ignores budgets for it.
    _rest_evict(sim, pod["metadata"]["name"])
    assert sim.wait(lambda: sim.get(POD, pod["metadata"]["name"]) is None or
                    sim.get(POD, pod["metadata"]["name"])["metadata"].get("deletionTimestamp"))
    # The running target pod: KubeVirt's 429 again (a new evacuation), never the budget's.
    err = api_error(lambda: _rest_evict(sim, target["metadata"]["name"]))
    assert err.message == EVICTION_WEBHOOK + 'Eviction triggered evacuation of VMI "demo/vm1"'


def test_a_budget_answers_when_kubevirt_lets_the_eviction_through(sim):
    """LiveMigrateIfPossible on a VMI that cannot migrate: the webhook passes, the eviction REST's
    budget check answers (429 with the DisruptionBudget cause) and the pod stays."""
    sim.bound_pvc("rwo", ("ReadWriteOnce",))
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrateIfPossible",
                volumes=[{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "rwo"}}])
    pod = launcher_of(sim, vmi)
    _guard(sim, "vm1")
    err = api_error(lambda: _rest_evict(sim, pod["metadata"]["name"]))
    assert err.code == 429 and err.message == "Cannot evict pod as it would violate the pod's disruption budget."
    assert err.details["causes"] == [{"reason": "DisruptionBudget", "message": "The disruption budget vm1-guard "
                                      "needs 1 healthy pods and has 1 currently"}]
    assert sim.get(POD, pod["metadata"]["name"])["status"]["phase"] == "Running"
    assert "evacuationNodeName" not in sim.get(VMI, "vm1")["status"] and not sim.store.list(VMIM)[0]


def test_launcher_pod_labels_are_kubevirts(sim):
    """podLabels in pkg/virt-controller/services/template.go: the VMI's labels, then kubevirt.io,
    kubevirt.io/created-by, vm.kubevirt.io/name (the sanitized hostname) and vmi.kubevirt.io/id; the
    kubevirt.io/domain annotation names the VMI. A migration target pod also copies the VMI's
    kubevirt.io/nodeName label (the source node at the time)."""
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate", hostname="guest")
    pod = launcher_of(sim, vmi)
    labels = pod["metadata"]["labels"]
    assert {k: labels[k] for k in ("kubevirt.io", "kubevirt.io/created-by", "vm.kubevirt.io/name",
                                   "vmi.kubevirt.io/id", "kubevirt.io/domain")} == {
        "kubevirt.io": "virt-launcher", "kubevirt.io/created-by": vmi["metadata"]["uid"],
        "vm.kubevirt.io/name": "guest", "vmi.kubevirt.io/id": "vm1", "kubevirt.io/domain": "vm1"}
    assert "kubevirt.io/nodeName" not in labels and "kubevirt.io/migrationJobUID" not in labels
    assert pod["metadata"]["annotations"]["kubevirt.io/domain"] == "vm1" and pod["spec"]["hostname"] == "guest"
    source_node = vmi["status"]["nodeName"]
    mig = migrate(sim, "vm1")
    assert migration_phases(sim, mig)[-1] == "Succeeded"
    moved = sim.get(VMI, "vm1")
    target = sim.get(POD, moved["status"]["migrationState"]["targetPod"])
    assert target["metadata"]["labels"]["kubevirt.io/nodeName"] == source_node != target["spec"]["nodeName"]
    assert target["metadata"]["labels"]["kubevirt.io/migrationJobUID"] == sim.get(VMIM, mig)["metadata"]["uid"]
    assert vmi_id("v" * 70) == "v" * 54 + "-fc1fb688"  # the first 8 hex digits of its SHA-1


def test_cluster_wide_strategy_on_openshift():
    with Sim(flavor="openshift", time_scale=0.004) as s:
        vmi = start(s, "vm1")
        assert "evictionStrategy" not in vmi["spec"]
        assert api_error(lambda: s.evict(launcher_of(s, vmi)["metadata"]["name"])).code == 429


def test_drain_taint_evacuates_the_node(sim):
    vmi = start(sim, "vm1", evictionStrategy="LiveMigrate")
    node = vmi["status"]["nodeName"]
    sim.update(NODE, None, node, lambda n: n["spec"].update(taints=[{"key": "kubevirt.io/drain",
                                                                     "effect": "NoSchedule"}]))
    sim.wait(lambda: sim.get(VMI, "vm1")["status"]["nodeName"] != node, what="moved off the drained node")
