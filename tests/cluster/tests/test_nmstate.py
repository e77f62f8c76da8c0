"""The kubernetes-nmstate simulation (nmstate.py, nmstate_state.py): NodeNetworkStates per node, a
policy's rollout limited by maxUnavailable, a missing port failing one node and aborting the rest,
captures resolved per node, ``state: absent`` and the ValidatingAdmissionPolicy (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.controllers.nmstate import NNCE, NNCP, NNS, NmstateController
from tests.cluster.controllers.nodes import NodeController
from tests.cluster.tests.harness import InProcessCluster

NODES = ("node01", "node02", "node03")


@pytest.fixture
def sim():
    with InProcessCluster([NodeController(), NmstateController()], flavor="kubernetes", time_scale=0.01,
                          options={}) as cluster:
        cluster.rt.start()
        yield cluster


def policy(name: str, interfaces: list, **spec) -> dict:
    return {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": name},
            "spec": {"desiredState": {"interfaces": interfaces}, **spec}}


def bridge(name: str = "br1", port: str = "eth1") -> dict:
    return {"name": name, "type": "linux-bridge", "state": "up",
            "bridge": {"options": {"stp": {"enabled": False}}, "port": [{"name": port}]}}


def conditions(obj: dict) -> dict:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def settled(sim, name: str) -> dict:
    def done():
        obj = sim.store.get(NNCP, None, name)
        cond = conditions(obj or {})
        return obj if cond.get("Available", {}).get("status") == "True" or \
            cond.get("Degraded", {}).get("status") == "True" else None
    return sim.wait(done, what=f"policy {name} settled")


def iface(sim, node: str, name: str):
    state = sim.store.get(NNS, None, node)["status"]["currentState"]
    return next((i for i in state["interfaces"] if i["name"] == name), None)


def test_states_per_node(sim):
    nns = sim.wait(lambda: sim.store.get(NNS, None, "node02"))
    state = nns["status"]["currentState"]
    assert [i["name"] for i in state["interfaces"]] == ["lo", "eth0", "eth1", "eth2", "eth3"]
    assert state["interfaces"][1]["ipv4"]["address"] == [{"ip": "192.168.66.102", "prefix-length": 24}]
    assert state["routes"]["running"][0]["destination"] == "0.0.0.0/0"
    assert conditions(nns)["Available"]["status"] == "True"


def test_rollout_one_node_at_a_time_and_absent(sim):
    sim.admitted_create(NNCP, policy("br1-eth1", [bridge()], maxUnavailable=1))
    progressing = sim.observe(NNCP, "", "br1-eth1", lambda o: str((o.get("status") or {}).get(
        "unavailableNodeCount", 0)), until="0", timeout=5)
    done = settled(sim, "br1-eth1")
    assert "2" not in progressing
    assert conditions(done)["Available"]["message"] == "3/3 nodes successfully configured"
    for node in NODES:
        nnce = sim.store.get(NNCE, None, f"{node}.br1-eth1")
        assert conditions(nnce)["Available"]["reason"] == "SuccessfullyConfigured"
        assert nnce["status"]["policyGeneration"] == 1
        assert iface(sim, node, "eth1")["controller"] == "br1"
        assert iface(sim, node, "br1")["type"] == "linux-bridge"
    old = sim.store.get(NNCP, None, "br1-eth1")
    new = policy("br1-eth1", [{"name": "br1", "type": "linux-bridge", "state": "absent"}], maxUnavailable=1)
    new["metadata"] = old["metadata"]
    sim.admitted_update(NNCP, new, old)
    sim.wait(lambda: all(sim.store.get(NNCE, None, f"{n}.br1-eth1")["status"]["policyGeneration"] == 2
                         and conditions(sim.store.get(NNCE, None, f"{n}.br1-eth1"))["Available"]["status"] == "True"
                         for n in NODES))
    assert iface(sim, "node01", "br1") is None and "controller" not in iface(sim, "node01", "eth1")


def test_missing_port_fails_and_aborts(sim):
    sim.admitted_create(NNCP, policy("bad", [bridge(port="eth9")], maxUnavailable=1))
    done = settled(sim, "bad")
    degraded = conditions(done)["Degraded"]
    assert degraded["reason"] == "FailedToConfigure"
    assert degraded["message"] == "1/3 nodes failed to configure, 2 nodes aborted configuration"
    failing = conditions(sim.store.get(NNCE, None, "node01.bad"))["Failing"]
    assert failing["reason"] == "FailedToConfigure"
    assert "failed to execute nmstatectl set --no-commit --timeout 480" in failing["message"]
    assert "NmstateError: InvalidArgument: Interface br1 has port eth9 which does not exist" in failing["message"]
    aborted = sim.wait(lambda: conditions(sim.store.get(NNCE, None, "node03.bad")).get("Aborted"))
    assert aborted["status"] == "True" and aborted["reason"] == "ConfigurationAborted"
    assert iface(sim, "node01", "br1") is None


def test_static_address_conflict_between_nodes(sim):
    vlan = {"name": "eth1.10", "type": "vlan", "state": "up", "vlan": {"base-iface": "eth1", "id": 10},
            "ipv4": {"enabled": True, "dhcp": False, "address": [{"ip": "10.10.0.5", "prefix-length": 24}]}}
    sim.admitted_create(NNCP, policy("vlan10", [vlan], maxUnavailable=1))
    done = settled(sim, "vlan10")
    assert conditions(done)["Degraded"]["message"] == "1/3 nodes failed to configure, 1 nodes aborted configuration"
    assert "Address 10.10.0.5 of interface eth1.10 is already in use on node node01" in conditions(
        sim.store.get(NNCE, None, "node02.vlan10"))["Failing"]["message"]


def test_capture_and_selector(sim):
    spec = {"capture": {"gw": 'routes.running.destination=="0.0.0.0/0"',
                        "base": 'interfaces.name==capture.gw.routes.running.0.next-hop-interface'},
            "nodeSelector": {"kubernetes.io/hostname": "node02"}}
    sim.admitted_create(NNCP, policy("cap", [{"name": "{{ capture.base.interfaces.0.name }}", "mtu": 9000}], **spec))
    settled(sim, "cap")
    assert sim.store.get(NNCE, None, "node01.cap") is None
    nnce = sim.store.get(NNCE, None, "node02.cap")
    assert nnce["status"]["desiredState"]["interfaces"][0]["name"] == "eth0"
    assert nnce["status"]["capturedStates"]["gw"]["state"]["routes"]["running"][0]["next-hop-interface"] == "eth0"
    assert iface(sim, "node02", "eth0")["mtu"] == 9000 and iface(sim, "node01", "eth0")["mtu"] == 1500


def test_no_matching_node(sim):
    sim.admitted_create(NNCP, policy("none", [bridge()], nodeSelector={"role": "nothing"}))
    ignored = sim.wait(lambda: conditions(sim.store.get(NNCP, None, "none")).get("Ignored"))
    assert ignored["reason"] == "NoMatchingNode" and ignored["message"] == "Policy does not match any node"


def test_admission_refusals(sim):
    sim.admitted_create(NNCP, policy("busy", [bridge()], maxUnavailable=1))
    old = sim.store.get(NNCP, None, "busy")
    new = policy("busy", [bridge(port="eth2")])
    new["metadata"] = old["metadata"]
    with pytest.raises(ApiError) as err:
        sim.admitted_update(NNCP, new, old)
    assert err.value.code == 403 and err.value.message.endswith("denied request: policy busy is still in progress")
    settled(sim, "busy")
    old = sim.store.get(NNCP, None, "busy")
    new = policy("busy", [bridge()], capture={"x": 'interfaces.name=="eth0"'})
    new["metadata"] = old["metadata"]
    with pytest.raises(ApiError) as err:
        sim.admitted_update(NNCP, new, old)
    assert err.value.code == 422 and "capture field cannot be modified" in err.value.message
