# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._vm_status import index_by_name, join_vmis, vmi_summary

VMI = {
    "metadata": {"name": "vm1", "namespace": "ns", "uid": "u1"},
    "status": {
        "phase": "Running",
        "nodeName": "node02",
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "AgentConnected", "status": "True"}],
        "interfaces": [
            {"name": "default", "ipAddress": "10.0.0.5", "ipAddresses": ["10.0.0.5", "fd00::5"], "mac": "02:00:00:00:00:01", "interfaceName": "eth0"},
            {"name": "vlan", "ipAddresses": ["192.168.20.4"]},
        ],
        "guestOSInfo": {"id": "fedora", "name": "Fedora Linux", "prettyName": "Fedora Linux 41", "versionId": "41", "kernelRelease": "6.11"},
    },
}


def test_vmi_summary():
    summary = vmi_summary(VMI)
    assert summary["phase"] == "Running"
    assert summary["ready"] is True
    assert summary["node"] == "node02"
    assert summary["ip_address"] == "10.0.0.5"
    assert summary["ip_addresses"] == ["10.0.0.5", "fd00::5", "192.168.20.4"]
    assert summary["interfaces"][1] == {"name": "vlan", "ip_address": "192.168.20.4", "ip_addresses": ["192.168.20.4"], "mac": None, "interface_name": None}
    assert summary["guest_os"] == {"id": "fedora", "name": "Fedora Linux", "pretty_name": "Fedora Linux 41", "version": "41", "kernel_release": "6.11"}
    assert summary["agent_connected"] is True and summary["live_migratable"] is False


def test_vmi_summary_of_missing_and_pending():
    assert vmi_summary(None) is None
    pending = vmi_summary({"metadata": {"name": "x"}, "status": {"phase": "Scheduling"}})
    assert pending["ip_address"] is None and pending["guest_os"] is None and pending["ready"] is False


def test_join_vmis_matches_namespace_and_name():
    vms = [{"metadata": {"name": "vm1", "namespace": "ns"}}, {"metadata": {"name": "vm1", "namespace": "other"}}]
    joined = join_vmis(vms, [VMI])
    assert joined[0]["vmi"]["uid"] == "u1"
    assert joined[1]["vmi"] is None
    assert "vmi" not in vms[0]
    assert list(index_by_name([VMI])) == [("ns", "vm1")]
