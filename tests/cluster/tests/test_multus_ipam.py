"""Secondary-network addresses from the NetworkAttachmentDefinition's IPAM (multus_ipam.py): what the
launcher pod's k8s.v1.cni.cncf.io/network-status lists and what the guest agent reports in
status.interfaces, per plugin (host-local, whereabouts, static, none)."""
from __future__ import annotations

import json
from typing import Optional

import pytest

from tests.cluster.controllers.keys import NAD
from tests.cluster.tests.harness import POD, VM, VMI
from tests.cluster.tests.virt_harness import Sim, vm_manifest


def add_nad(sim, name: str, ipam: Optional[dict], conflist: bool = False) -> None:
    plugin = {"cniVersion": "0.3.1", "name": name, "type": "cnv-bridge", "bridge": "br1"}
    if ipam is not None:
        plugin["ipam"] = ipam
    config = {"cniVersion": "0.3.1", "name": name, "plugins": [plugin, {"type": "tuning"}]} if conflist else plugin
    sim.service.create(NAD, {"metadata": {"name": name, "namespace": "demo"}, "spec": {"config": json.dumps(config)}})


def run_vm(sim, name: str, nad: str) -> tuple[dict, list]:
    """Start a VM with the pod network and ``nad``; (its secondary status.interfaces entry, network-status)."""
    vm = vm_manifest(name, networks=[{"name": "default", "pod": {}}, {"name": "sec", "multus": {"networkName": nad}}])
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [
        {"name": "default", "masquerade": {}}, {"name": "sec", "bridge": {}}]
    sim.create(VM, vm)
    vmi = sim.wait(lambda: (v := sim.get(VMI, name)) and any(
        c["type"] == "AgentConnected" for c in v["status"].get("conditions", [])) and v, what="agent")
    pod = next(p for p in sim.store.list(POD, "demo")[0]
               if p["metadata"]["annotations"].get("kubevirt.io/domain") == name)
    return vmi["status"]["interfaces"][1], json.loads(pod["metadata"]["annotations"][
        "k8s.v1.cni.cncf.io/network-status"])


def ips(sim, name: str, nad: str) -> list[str]:
    iface, status = run_vm(sim, name, nad)
    entry = next(e for e in status if e["name"] == f"demo/{nad}")
    assert entry["interface"] == iface["podInterfaceName"] and entry["mac"] == iface["mac"]
    assert iface.get("ipAddresses", []) == entry.get("ips", [])
    return entry.get("ips", [])


@pytest.mark.parametrize("ipam, first, second", [
    ({"type": "host-local", "subnet": "192.168.10.0/24"}, "192.168.10.2", "192.168.10.3"),  # .1 is the gateway
    ({"type": "host-local", "subnet": "192.168.10.0/24", "rangeStart": "192.168.10.100",
      "rangeEnd": "192.168.10.101"}, "192.168.10.100", "192.168.10.101"),
    ({"type": "host-local", "ranges": [[{"subnet": "10.200.0.0/30", "gateway": "10.200.0.2"}]]},
     "10.200.0.1", None),  # .2 is the gateway, .3 the broadcast: the pool is exhausted after one pod
    ({"type": "whereabouts", "range": "192.168.20.0/29", "exclude": ["192.168.20.0/31"]},
     "192.168.20.2", "192.168.20.3"),
    ({"type": "whereabouts", "range": "192.168.30.225-192.168.30.226/24"}, "192.168.30.225", "192.168.30.226"),
])
def test_pools_hand_out_the_lowest_free_address(sim, ipam, first, second):
    add_nad(sim, "net", ipam)
    assert ips(sim, "vm1", "net") == [first]
    assert ips(sim, "vm2", "net") == ([second] if second else [])


def test_host_local_range_sets_give_one_address_each(sim):
    add_nad(sim, "dual", {"type": "host-local", "ranges": [[{"subnet": "192.168.40.0/24"}],
                                                           [{"subnet": "fd00:40::/64"}]]}, conflist=True)
    assert ips(sim, "vm1", "dual") == ["192.168.40.2", "fd00:40::2"]


def test_whereabouts_ip_ranges(sim):
    add_nad(sim, "multi", {"type": "whereabouts", "ipRanges": [{"range": "192.168.50.0/24"},
                                                                {"range": "fd00:50::/120"}]})
    assert ips(sim, "vm1", "multi") == ["192.168.50.1", "fd00:50::1"]


def test_static_addresses_are_given_as_written(sim):
    add_nad(sim, "fixed", {"type": "static", "addresses": [{"address": "10.10.0.5/24", "gateway": "10.10.0.1"}]})
    assert ips(sim, "vm1", "fixed") == ["10.10.0.5"]


@pytest.mark.parametrize("ipam", [None, {"type": "dhcp"}])
def test_no_ipam_means_no_address(sim, ipam):
    add_nad(sim, "l2", ipam)
    iface, status = run_vm(sim, "vm1", "l2")
    entry = next(e for e in status if e["name"] == "demo/l2")
    assert "ips" not in entry and "ipAddress" not in iface and "ipAddresses" not in iface
    assert iface["infoSource"] == "domain, guest-agent, multus-status"


def test_released_addresses_are_reused(sim):
    add_nad(sim, "net", {"type": "host-local", "subnet": "192.168.60.0/24"})
    assert ips(sim, "vm1", "net") == ["192.168.60.2"]
    sim.delete(VM, "demo", "vm1")
    sim.wait(lambda: not sim.store.list(POD, "demo")[0], what="launcher gone")
    assert ips(sim, "vm2", "net") == ["192.168.60.2"]


def test_openshift_never_hands_out_service_network_addresses():
    with Sim(flavor="openshift", time_scale=0.005) as sim:
        # 172.30.0.0/16 is the service network: the pool's first two candidates are skipped.
        add_nad(sim, "wide", {"type": "host-local", "subnet": "172.30.0.0/15", "rangeStart": "172.30.255.254"})
        assert ips(sim, "vm1", "wide") == ["172.31.0.0"]
        add_nad(sim, "inside", {"type": "whereabouts", "range": "172.30.1.0/24"})
        assert ips(sim, "vm2", "inside") == []
