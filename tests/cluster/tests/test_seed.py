"""The seeder: 10,000 VMs in converged state, that the controllers leave alone (in-process).

Counts and shapes only; speed is shown by tests/cluster/bench/list_bench.py, not asserted here."""
from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from tests.cluster.seed import seed
from tests.cluster.tests.harness import NODE, POD, SERVICE, VM, VMI
from tests.cluster.tests.virt_harness import Sim


def settle(sim: Sim, quiet: float = 0.3, timeout: float = 120.0) -> int:
    """Wait until the controllers have nothing to do; returns the store's resourceVersion then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rv = sim.store.resource_version
        time.sleep(quiet)
        if sim.rt.idle() and sim.store.resource_version == rv:
            return rv
    raise AssertionError("controllers never settled")


@pytest.fixture(scope="module")
def seeded():
    sim = Sim(flavor="openshift", full=True, time_scale=0.01)
    before = sim.store.resource_version
    result = seed(sim.rt, 10_000, 1_000, random.Random(7))
    seeded_rv = sim.store.resource_version
    settled_rv = settle(sim)
    yield sim, result, before, seeded_rv, settled_rv
    sim.close()


def test_counts(seeded):
    sim, result, *_ = seeded
    assert result.vms == sim.store.count(VM) == 10_000
    assert len(result.namespaces) == 1_000
    assert sim.store.count(VMI) == result.running
    launchers = [p for p in sim.store.list(POD)[0] if p["metadata"]["labels"].get("kubevirt.io") == "virt-launcher"]
    assert len(launchers) == result.running
    assert 7_500 < result.running < 8_500  # ~80% running
    assert 200 < result.windows < 800
    assert sim.store.count(SERVICE) == result.services > 500
    per_namespace = Counter(vm["metadata"]["namespace"] for vm in sim.store.list(VM)[0])
    assert set(per_namespace.values()) == {10}


def test_controllers_find_nothing_to_change(seeded):
    sim, _, _, seeded_rv, settled_rv = seeded
    assert settled_rv == seeded_rv
    assert not sim.rt.errors


def test_running_vms_look_like_controller_output(seeded):
    sim, *_ = seeded
    vm = next(v for v in sim.store.list(VM)[0] if v["spec"]["runStrategy"] == "Always")
    ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    assert vm["status"]["printableStatus"] == "Running" and vm["status"]["ready"] is True
    assert vm["metadata"]["finalizers"] == ["kubevirt.io/virtualMachineControllerFinalize"]
    vmi = sim.get(VMI, name, ns)
    assert vmi["status"]["phase"] == "Running"
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == vmi["status"]["nodeName"]
    assert vmi["status"]["guestOSInfo"]["id"]
    pod = next(p for p in sim.store.list(POD, ns)[0] if p["metadata"]["annotations"].get("kubevirt.io/domain") == name)
    assert pod["spec"]["nodeName"] == vmi["status"]["nodeName"]
    assert vmi["status"]["interfaces"][0]["ipAddress"] == pod["status"]["podIP"]
    assert vmi["status"]["activePods"] == {pod["metadata"]["uid"]: vmi["status"]["nodeName"]}
    # A seeded VM behaves like any other: stop it through the subresource.
    assert sim.call("virtualmachines", name, "stop", namespace=ns) == (202, None)
    sim.wait_printable(name, "Stopped", namespace=ns)


def test_stopped_vms_and_labels(seeded):
    sim, *_ = seeded
    vms = sim.store.list(VM)[0]
    stopped = [v for v in vms if v["spec"]["runStrategy"] == "Halted"]
    assert stopped and all(v["status"]["printableStatus"] == "Stopped" for v in stopped[:50])
    assert {v["metadata"]["labels"]["env"] for v in vms} == {"prod", "staging", "dev"}
    assert {"app", "env", "os", "tier"} <= set(vms[0]["metadata"]["labels"])


def test_windows_guests_and_services(seeded):
    sim, *_ = seeded
    windows = [v for v in sim.store.list(VMI)[0] if v["status"].get("guestOSInfo", {}).get("id") == "mswindows"]
    assert windows and windows[0]["status"]["guestOSInfo"]["prettyName"] == "Windows Server 2022 Datacenter"
    services = sim.store.list(SERVICE)[0]
    kinds = Counter(s["spec"]["type"] for s in services)
    assert set(kinds) == {"NodePort", "LoadBalancer"}
    ssh = next(s for s in services if s["spec"]["ports"][0]["port"] == 22)
    assert set(ssh["spec"]["selector"]) == {"kubevirt.io/domain"}
    target = sim.get(VMI, ssh["spec"]["selector"]["kubevirt.io/domain"], ssh["metadata"]["namespace"])
    assert target is not None and target["metadata"]["labels"]["kubevirt.io/domain"] == target["metadata"]["name"]
    assert any(s["spec"]["ports"][0]["port"] == 5986 for s in services)


def test_nodes_added_for_capacity(seeded):
    sim, result, *_ = seeded
    nodes = sim.store.list(NODE)[0]
    assert result.nodes == len(nodes) > 3
    per_node = Counter(v["status"]["nodeName"] for v in sim.store.list(VMI)[0])
    assert max(per_node.values()) <= 110


def test_seed_is_deterministic_for_a_seed():
    with Sim(time_scale=0.01) as first, Sim(time_scale=0.01) as second:
        a = seed(first.rt, 50, 5, random.Random(3))
        b = seed(second.rt, 50, 5, random.Random(3))
        assert a == b
        assert [v["metadata"]["name"] for v in first.store.list(VM)[0]] == \
            [v["metadata"]["name"] for v in second.store.list(VM)[0]]
