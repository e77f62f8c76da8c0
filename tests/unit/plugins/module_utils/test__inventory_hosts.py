# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host records built from KubeVirt-shaped VM / VMI / Service objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_hosts import (
    HostOptions,
    build_host,
    connection_address,
    find_service,
    format_host_name,
    guest_os_id,
    index_services,
    is_candidate_service,
    is_windows,
    pair_objects,
    select_interface,
    service_endpoint,
    service_for_connection,
    snake_case,
    validate_host_format,
)

FIXTURE = json.loads((Path(__file__).parents[1] / "inventory" / "fixtures" / "cluster.json").read_text())
HOSTILE = "{{ lookup('pipe','id') }}"


def obj(kind, name):
    return copy.deepcopy(next(o for o in FIXTURE[kind] if o["metadata"]["name"] == name))


def services():
    return index_services(copy.deepcopy(FIXTURE["services"]))


def host(name, options=HostOptions(), **kwargs):
    vm = obj("vms", name) if any(o["metadata"]["name"] == name for o in FIXTURE["vms"]) else None
    vmi = obj("vmis", name) if any(o["metadata"]["name"] == name for o in FIXTURE["vmis"]) else None
    return build_host(vm, vmi, "prod", options, services(), **kwargs)


@pytest.mark.parametrize(
    "key, expected",
    [
        ("guestOSInfo", "guest_os_info"),
        ("nodeName", "node_name"),
        ("printableStatus", "printable_status"),
        ("VSOCKCID", "vsockcid"),
        ("launcherContainerImageVersion", "launcher_container_image_version"),
        ("phase", "phase"),
        ("currentCPUTopology", "current_cpu_topology"),
    ],
)
def test_snake_case_matches_kubevirt_core_names(key, expected):
    assert snake_case(key) == expected


@pytest.mark.parametrize("fmt", ["{namespace}-{name}", "{cluster}-{namespace}-{name}", "{uid}", "vm-{name}.{cluster}"])
def test_validate_host_format_accepts_known_fields(fmt):
    validate_host_format(fmt)


@pytest.mark.parametrize(
    "fmt, message",
    [
        ("{namespace}-{vm}", "unknown field {vm}"),
        ("static-name", "must contain"),
        ("{name", "not a valid format string"),
    ],
)
def test_validate_host_format_names_the_problem(fmt, message):
    with pytest.raises(ValueError, match=message):
        validate_host_format(fmt)


def test_format_host_name_fills_every_field():
    metadata = {"name": "web", "namespace": "apps", "uid": "u-1"}
    assert format_host_name("{cluster}/{namespace}/{name}/{uid}", "east", metadata) == "east/apps/web/u-1"


@pytest.mark.parametrize(
    "guest, annotations, fallback, preference, expected",
    [
        ({"id": "mswindows"}, None, None, None, True),
        # The guest agent wins over annotations.
        ({"id": "fedora"}, {"vm.kubevirt.io/os": "windows2k22"}, None, None, False),
        ({}, {"kubevirt.io/cluster-preference-name": "windows.2k22"}, None, None, True),
        ({}, {"kubevirt.io/preference-name": "windows.11"}, None, None, True),
        ({}, {"vm.kubevirt.io/os": "windows10"}, None, None, True),
        # The first annotation present decides, as in kubevirt.core.
        ({}, {"kubevirt.io/preference-name": "fedora", "vm.kubevirt.io/os": "windows10"}, None, None, False),
        (None, {}, {"vm.kubevirt.io/os": "windows2k19"}, None, True),
        (None, None, None, "windows.2k22.virtio", True),
        (None, None, None, "rhel.9", False),
        ("not-a-dict", ["junk"], 42, None, False),
    ],
)
def test_is_windows(guest, annotations, fallback, preference, expected):
    assert is_windows(guest, annotations, fallback, preference) is expected


def test_guest_os_id_prefers_the_agent_then_the_os_annotation():
    assert guest_os_id({"id": "rhel"}, {"vm.kubevirt.io/os": "fedora"}) == "rhel"
    assert guest_os_id({}, None, {"vm.kubevirt.io/os": "windows2k22"}) == "windows2k22"
    assert guest_os_id(None, None) is None


@pytest.mark.parametrize(
    "name, expected",
    [("fedora-ssh", True), ("win-winrm", True), ("win-ssh", True), ("web-http", False), ("two-ports", False)],
)
def test_is_candidate_service(name, expected):
    assert is_candidate_service(obj("services", name)) is expected


def test_is_candidate_service_rejects_named_target_ports_and_missing_selectors():
    service = obj("services", "fedora-ssh")
    service["spec"]["ports"][0]["targetPort"] = "ssh"
    assert not is_candidate_service(service)
    service = obj("services", "fedora-ssh")
    del service["spec"]["selector"]
    assert not is_candidate_service(service)
    assert not is_candidate_service({"spec": None})


def test_index_services_by_namespace_and_domain():
    index = services()
    assert sorted(index) == [("apps", "fedora"), ("apps", "multinet"), ("windows", "win")]
    assert [s["metadata"]["name"] for s in index[("windows", "win")]] == ["win-ssh", "win-winrm"]


def test_find_service_and_connection_ports():
    win = services()[("windows", "win")]
    assert find_service(win, 5985) is None
    assert service_for_connection(win, "winrm")["metadata"]["name"] == "win-winrm"
    assert service_for_connection(win, "ansible.builtin.psrp")["metadata"]["name"] == "win-winrm"
    assert service_for_connection(win, "ssh")["metadata"]["name"] == "win-ssh"
    assert service_for_connection(win, None)["metadata"]["name"] == "win-ssh"


def test_winrm_falls_back_to_http_port():
    http = obj("services", "win-winrm")
    http["spec"]["ports"][0]["targetPort"] = 5985
    assert service_for_connection([http], "winrm") is http


def test_service_endpoint_load_balancer_prefers_hostname():
    service = obj("services", "win-ssh")
    assert service_endpoint(service, "node02", HostOptions()) == ("win-ssh.lb.example.com", 2222)
    service["status"]["loadBalancer"]["ingress"] = [{"ip": "198.51.100.7"}]
    assert service_endpoint(service, "node02", HostOptions()) == ("198.51.100.7", 2222)
    service["status"] = {}
    assert service_endpoint(service, "node02", HostOptions()) == (None, 2222)


def test_service_endpoint_node_port_uses_node_and_base_domain():
    service = obj("services", "fedora-ssh")
    assert service_endpoint(service, "node01", HostOptions()) == ("node01", 30022)
    options = HostOptions(append_base_domain=True, base_domain="example.com")
    assert service_endpoint(service, "node01", options) == ("node01.example.com", 30022)
    assert service_endpoint(service, None, options) == (None, 30022)


def test_select_interface():
    interfaces = obj("vmis", "multinet")["status"]["interfaces"]
    assert select_interface(interfaces, None)["ipAddress"] == "10.244.3.30"
    assert select_interface(interfaces, "storage-net")["ipAddress"] == "192.168.100.30"
    assert select_interface(interfaces, "missing") is None
    assert select_interface([{"name": "default"}, "junk", {"ipAddress": "10.0.0.9"}], None)["ipAddress"] == "10.0.0.9"
    assert select_interface(None, None) is None


def test_connection_address_order():
    vmi = obj("vmis", "multinet")
    svc = services()[("apps", "multinet")]
    assert connection_address(vmi, svc, None, HostOptions()) == ("multinet.lb.example.com", 22)
    assert connection_address(vmi, svc, None, HostOptions(use_service=False)) == ("10.244.3.30", None)
    # network_name disables Services.
    assert connection_address(vmi, svc, None, HostOptions(network_name="storage-net")) == ("192.168.100.30", None)
    dns = HostOptions(network_name="storage-net", kube_secondary_dns=True, base_domain="example.com")
    assert connection_address(vmi, svc, None, dns) == ("storage-net.multinet.apps.vm.example.com", None)
    dns = HostOptions(network_name="storage-net", kube_secondary_dns=True)
    assert connection_address(vmi, svc, None, dns) == ("storage-net.multinet.apps.vm", None)
    assert connection_address(vmi, svc, None, HostOptions(network_name="nope")) == (None, None)


def test_running_host_variables_are_kubevirt_core_compatible():
    record = host("fedora")
    v = record.variables
    assert record.name == "apps-fedora" and record.running
    assert v["ansible_host"] == "node01" and v["ansible_port"] == 30022
    assert "ansible_connection" not in v
    assert v["vm_labels"] == {"app": "web", "tier": "front"}
    assert v["vm_uid"] == "11111111-1111-4111-8111-111111111111"
    assert v["vm_printable_status"] == "Running" and v["vm_ready"] is True
    assert v["vmi_phase"] == "Running" and v["vmi_node_name"] == "node01"
    assert v["vmi_guest_os_info"]["id"] == "fedora"
    assert v["vmi_interfaces"][0]["ipAddresses"] == ["10.244.1.10", "fd10:244:1::a"]
    assert v["vmi_vsockcid"] == 3
    assert v["vm_instancetype"] == "u1.medium" and v["vm_preference"] == "fedora"
    assert v["kubevirt_cluster"] == "prod" and v["vm_name"] == "fedora" and v["vm_namespace"] == "apps"
    assert (record.node, record.status, record.os_id, record.instancetype) == ("node01", "Running", "fedora", "u1.medium")
    assert ("app", "web") in record.labels and ("kubevirt.io/domain", "fedora") in record.labels


def test_ip_address_without_service_and_unset_ansible_port():
    v = host("fedora", HostOptions(use_service=False)).variables
    assert v["ansible_host"] == "10.244.1.10" and v["ansible_port"] is None
    v = host("fedora", HostOptions(use_service=False, unset_ansible_port=False)).variables
    assert "ansible_port" not in v


def test_windows_guest_gets_winrm_service():
    record = host("win")
    assert record.windows and record.os_id == "mswindows"
    assert record.variables["ansible_connection"] == "winrm"
    assert (record.variables["ansible_host"], record.variables["ansible_port"]) == ("203.0.113.20", 5986)


def test_windows_guest_with_ssh_connection_uses_ssh_service():
    record = host("win", HostOptions(default_win_ansible_connection="ssh"))
    assert record.variables["ansible_connection"] == "ssh"
    assert (record.variables["ansible_host"], record.variables["ansible_port"]) == ("win-ssh.lb.example.com", 2222)


def test_stopped_vms_are_hosts_only_with_include_stopped():
    assert host("stopped") is None
    record = host("stopped", HostOptions(include_stopped=True))
    assert not record.running and record.status == "Stopped" and record.node is None
    assert "ansible_host" not in record.variables and "ansible_port" not in record.variables
    assert record.variables["vm_printable_status"] == "Stopped"
    assert not any(key.startswith("vmi_") for key in record.variables)


def test_starting_vm_has_no_address():
    assert host("starting") is None
    record = host("starting", HostOptions(include_stopped=True))
    assert record.status == "Starting" and "ansible_host" not in record.variables
    assert record.variables["vmi_phase"] == "Scheduling"


def test_vm_without_status_never_breaks():
    record = host("odd", HostOptions(include_stopped=True))
    assert record.status == "Stopped" and record.variables["vm_labels"] == {}
    assert host("odd") is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda vm, vmi: vmi.update(status=None),
        lambda vm, vmi: vmi["status"].update(interfaces="garbage"),
        lambda vm, vmi: vmi["status"].update(interfaces=[None, 3, {"ipAddress": 7}]),
        lambda vm, vmi: vmi["status"].update(guestOSInfo=None),
        lambda vm, vmi: vm["metadata"].update(labels=None, annotations=["x"]),
        lambda vm, vmi: vm.update(spec={"instancetype": "not-a-dict"}),
        lambda vm, vmi: vmi["metadata"].update(labels={"kubevirt.io/domain": 5}),
        lambda vm, vmi: vm.update(status={"printableStatus": None, 5: "x"}),
    ],
)
def test_odd_objects_never_raise(mutate):
    vm, vmi = obj("vms", "fedora"), obj("vmis", "fedora")
    mutate(vm, vmi)
    build_host(vm, vmi, "prod", HostOptions(include_stopped=True), services())


def test_objects_without_name_or_namespace_are_skipped():
    vm = obj("vms", "fedora")
    del vm["metadata"]["namespace"]
    assert build_host(vm, None, "prod", HostOptions(include_stopped=True)) is None
    assert build_host(None, None, "prod", HostOptions()) is None


def test_standalone_vmi_is_a_host():
    record = host("standalone")
    assert record.name == "legacy-standalone" and record.status == "Running"
    assert record.variables["ansible_host"] == "10.244.2.80"
    assert "vm_printable_status" not in record.variables and record.variables["vmi_phase"] == "Running"


def test_every_cluster_value_goes_through_unsafe():
    class Marked:
        def __init__(self, value):
            self.value = value

    record = host("hostile", unsafe=Marked)
    for key, value in record.variables.items():
        if key == "ansible_connection":
            continue
        assert isinstance(value, Marked), key
    assert record.variables["vm_labels"].value["app"] == HOSTILE
    assert record.variables["vm_annotations"].value["note"] == HOSTILE


def test_host_format_with_cluster_and_uid():
    record = host("fedora", HostOptions(host_format="{cluster}.{uid}"))
    assert record.name == "prod.11111111-1111-4111-8111-111111111111"


def test_pair_objects_joins_by_namespace_and_name():
    pairs = pair_objects(FIXTURE["vms"] + ["junk", {"metadata": {}}], FIXTURE["vmis"] + [{"metadata": None}])
    names = [((vm or vmi)["metadata"]["name"], vm is not None, vmi is not None) for vm, vmi in pairs]
    assert names[0] == ("fedora", True, True)
    assert ("stopped", True, False) in names
    assert names[-1] == ("standalone", False, True)
    assert len(names) == len(FIXTURE["vms"]) + 1


def test_exclude_host_vars_by_name_and_pattern():
    options = HostOptions(exclude_vars=("vmi_conditions", "*_annotations", "vm_ready"))
    v = host("fedora", options).variables
    assert "vmi_conditions" not in v and "vm_annotations" not in v and "vmi_annotations" not in v
    assert "vm_ready" not in v
    assert v["vm_conditions"] and v["vmi_phase"] == "Running" and v["ansible_host"] == "node01"


def test_excluded_host_vars_are_kept_aside_for_expressions():
    options = HostOptions(exclude_vars=("vm_*", "vmi_*"))
    record = host("fedora", options)
    assert not [name for name in record.variables if name.startswith(("vm_", "vmi_"))]
    assert record.variables["ansible_host"] == "node01"
    assert record.hidden["vmi_phase"] == "Running" and record.hidden["vm_labels"]["app"] == "web"
    assert not set(record.hidden) & set(record.variables)
    assert host("fedora", HostOptions()).hidden == {}


def test_status_keys_that_are_not_variable_names_are_left_out():
    vm = obj("vms", "fedora")
    vm["status"]["weird-key"] = 1
    vm["status"][""] = 2
    record = build_host(vm, obj("vmis", "fedora"), "prod", HostOptions(), services())
    assert all(name.isidentifier() for name in record.variables)
    assert record.variables["vm_printable_status"] == "Running"
