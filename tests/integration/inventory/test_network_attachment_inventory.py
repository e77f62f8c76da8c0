# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM on a VLAN NAD made by virt.kubevirt.network_attachment (linux-bridge, VLAN 20, whereabouts):
the address whereabouts hands out shows up in the VMI, in vm_info and as the inventory's ansible_host
with ``network_name``."""

from __future__ import annotations

import ipaddress

from .conftest import plain

IMAGE = "quay.io/containerdisks/fedora:41"


def test_secondary_ip_from_the_nad_reaches_vm_info_and_inventory(cluster, runner, inventory, objects):
    ns = objects.namespace("vlan20")
    nad = runner.run("network_attachment", {
        "name": "vlan20", "namespace": ns, "type": "linux-bridge", "bridge": "br1", "vlan": 20,
        "ipam": {"type": "whereabouts", "range": "192.168.20.0/24", "range_start": "192.168.20.50"}})
    assert not nad.failed and nad.changed, nad
    vm = runner.run("vm", {
        "name": "app", "namespace": ns, "run_strategy": "Always", "memory": "512Mi",
        "disks": [{"name": "root", "container_disk": IMAGE}],
        "networks": [{"name": "default"}, {"name": "vlan20", "network_name": "vlan20"}], "wait": True})
    assert not vm.failed, vm
    vmi = objects.wait_running(ns, "app", interface="vlan20")["app"]
    secondary = next(i for i in vmi["status"]["interfaces"] if i.get("name") == "vlan20")
    address = ipaddress.ip_address(secondary["ipAddress"])
    assert address in ipaddress.ip_network("192.168.20.0/24") and address >= ipaddress.ip_address("192.168.20.50")

    info = runner.run("vm_info", {"name": "app", "namespace": ns})
    assert not info.failed, info
    interfaces = {i["name"]: i for i in info.result["resources"][0]["vmi"]["interfaces"]}
    assert interfaces["vlan20"]["ip_address"] == str(address), interfaces

    run = inventory.run(cluster, inventory.source({"kubeconfig": cluster.kubeconfig, "context": "local",
                                                   "namespaces": [ns], "network_name": "vlan20"}))
    assert plain(run.hostvars["%s-app" % ns])["ansible_host"] == str(address), run
