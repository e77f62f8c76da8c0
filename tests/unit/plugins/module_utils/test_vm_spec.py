# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
import yaml

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_spec import build_vm, data_volume_names, declared_paths


def _params(**values):
    params = {"name": "vm1", "namespace": "ns"}
    params.update(values)
    return params


def _tspec(vm):
    return vm["spec"]["template"]["spec"]


def test_minimal_vm():
    vm = build_vm(_params())
    assert vm == {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": "ns"},
        "spec": {"template": {"metadata": {"labels": {"kubevirt.io/domain": "vm1"}}, "spec": {"domain": {"devices": {}}}}},
    }


def test_metadata_run_strategy_and_template_metadata():
    vm = build_vm(_params(
        labels={"app": "web"}, annotations={"owner": "a"}, run_strategy="Always",
        template_labels={"tier": "front"}, template_annotations={"x": "y"},
    ))
    assert vm["metadata"] == {"name": "vm1", "namespace": "ns", "labels": {"app": "web"}, "annotations": {"owner": "a"}}
    assert vm["spec"]["runStrategy"] == "Always"
    assert vm["spec"]["template"]["metadata"] == {"labels": {"kubevirt.io/domain": "vm1", "tier": "front"}, "annotations": {"x": "y"}}


def test_cpu_and_memory():
    domain = _tspec(build_vm(_params(cpu={"cores": 2, "sockets": None, "threads": 1}, memory="2Gi")))["domain"]
    assert domain["cpu"] == {"cores": 2, "threads": 1}
    assert domain["memory"] == {"guest": "2Gi"}


@pytest.mark.parametrize("memory", ["2GB", "two", "-1Gi", "1.5.2Gi"])
def test_invalid_memory_quantity_names_the_option(memory):
    with pytest.raises(KubeApiError) as caught:
        build_vm(_params(memory=memory))
    assert str(caught.value).startswith("memory: %r is not a valid Kubernetes quantity" % memory)
    assert caught.value.reason == "InvalidArgument"


def test_instancetype_and_preference_matchers():
    vm = build_vm(_params(
        instancetype={"name": "u1.medium", "kind": "VirtualMachineClusterInstancetype", "infer_from_volume": None, "infer_from_volume_failure_policy": None},
        preference={"name": None, "kind": "VirtualMachinePreference", "infer_from_volume": "root", "infer_from_volume_failure_policy": "Ignore"},
    ))
    assert vm["spec"]["instancetype"] == {"name": "u1.medium", "kind": "VirtualMachineClusterInstancetype"}
    assert vm["spec"]["preference"] == {"kind": "VirtualMachinePreference", "inferFromVolume": "root", "inferFromVolumeFailurePolicy": "Ignore"}


def test_instancetype_needs_name_or_inference_and_conflicts_with_cpu():
    with pytest.raises(KubeApiError, match="instancetype: set name"):
        build_vm(_params(instancetype={"name": None, "kind": "VirtualMachineClusterInstancetype"}))
    with pytest.raises(KubeApiError, match="conflicts with instancetype"):
        build_vm(_params(instancetype={"name": "u1.small"}, memory="1Gi"))


def _disk(**values):
    disk = {"name": "root", "type": "disk", "bus": None, "boot_order": None, "container_disk": None, "pvc": None, "data_volume": None}
    disk.update(values)
    return disk


def _dv(**values):
    dv = {"name": None, "url": None, "registry": None, "clone_pvc": None, "data_source": None, "blank": False,
          "size": None, "storage_class": None, "access_modes": None, "volume_mode": None}
    dv.update(values)
    return dv


def test_container_disk_and_pvc_disks():
    vm = build_vm(_params(disks=[
        _disk(container_disk="quay.io/containerdisks/fedora:41", bus="virtio", boot_order=1),
        _disk(name="data", pvc="data-pvc", type="lun"),
    ]))
    spec = _tspec(vm)
    assert spec["domain"]["devices"]["disks"] == [
        {"name": "root", "disk": {"bus": "virtio"}, "bootOrder": 1},
        {"name": "data", "lun": {}},
    ]
    assert spec["volumes"] == [
        {"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-pvc"}},
    ]
    assert "dataVolumeTemplates" not in vm["spec"]


def test_data_volume_templates_for_each_source():
    vm = build_vm(_params(disks=[
        _disk(name="root", data_volume=_dv(
            data_source={"name": "fedora", "namespace": "images"}, storage_class="fast", access_modes=["ReadWriteMany"], volume_mode="Block",
        )),
        _disk(name="http", data_volume=_dv(url="https://example.com/disk.qcow2", size="20Gi")),
        _disk(name="reg", data_volume=_dv(registry="docker://quay.io/x:1", size="10Gi", name="custom")),
        _disk(name="clone", data_volume=_dv(clone_pvc={"name": "golden", "namespace": None})),
        _disk(name="scratch", data_volume=_dv(blank=True, size="1Gi")),
    ]))
    templates = vm["spec"]["dataVolumeTemplates"]
    assert [t["metadata"]["name"] for t in templates] == ["vm1-root", "vm1-http", "custom", "vm1-clone", "vm1-scratch"]
    assert templates[0]["spec"] == {
        "sourceRef": {"kind": "DataSource", "name": "fedora", "namespace": "images"},
        "storage": {"storageClassName": "fast", "accessModes": ["ReadWriteMany"], "volumeMode": "Block"},
    }
    assert templates[1]["spec"] == {"source": {"http": {"url": "https://example.com/disk.qcow2"}}, "storage": {"resources": {"requests": {"storage": "20Gi"}}}}
    assert templates[2]["spec"]["source"] == {"registry": {"url": "docker://quay.io/x:1"}}
    assert templates[3]["spec"] == {"source": {"pvc": {"name": "golden"}}, "storage": {}}
    assert templates[4]["spec"]["source"] == {"blank": {}}
    assert _tspec(vm)["volumes"][2] == {"name": "reg", "dataVolume": {"name": "custom"}}
    assert data_volume_names(vm) == ["vm1-root", "vm1-http", "custom", "vm1-clone", "vm1-scratch"]


def test_data_volume_size_is_checked():
    with pytest.raises(KubeApiError, match=r"disks\[0\] \(root\).data_volume.size: required"):
        build_vm(_params(disks=[_disk(data_volume=_dv(url="https://x"))]))
    with pytest.raises(KubeApiError, match=r"disks\[0\] \(root\).data_volume.size: '20 GB' is not a valid"):
        build_vm(_params(disks=[_disk(data_volume=_dv(url="https://x", size="20 GB"))]))


def test_disk_without_source_is_rejected():
    with pytest.raises(KubeApiError, match=r"disks\[0\] \(root\): set one of"):
        build_vm(_params(disks=[_disk()]))


def _net(**values):
    net = {"name": "default", "network_name": None, "binding": None, "mac_address": None, "model": None, "ports": None}
    net.update(values)
    return net


def test_pod_and_multus_networks():
    spec = _tspec(build_vm(_params(networks=[
        _net(ports=[{"port": 22, "protocol": None, "name": None}, {"port": 80, "protocol": "TCP", "name": "http"}]),
        _net(name="vlan", network_name="prod/vlan20", mac_address="02:00:00:00:00:01", model="virtio"),
    ])))
    assert spec["domain"]["devices"]["interfaces"] == [
        {"name": "default", "masquerade": {}, "ports": [{"port": 22}, {"port": 80, "protocol": "TCP", "name": "http"}]},
        {"name": "vlan", "bridge": {}, "macAddress": "02:00:00:00:00:01", "model": "virtio"},
    ]
    assert spec["networks"] == [{"name": "default", "pod": {}}, {"name": "vlan", "multus": {"networkName": "prod/vlan20"}}]


def test_network_binding_checks():
    with pytest.raises(KubeApiError, match="masquerade only works on the pod network"):
        build_vm(_params(networks=[_net(network_name="nad", binding="masquerade")]))
    with pytest.raises(KubeApiError, match="port forwarding needs binding masquerade"):
        build_vm(_params(networks=[_net(binding="bridge", ports=[{"port": 22}])]))


def _cloud_init(**values):
    options = {"user_data": None, "user_data_secret": None, "network_data": None, "network_data_secret": None, "ssh_authorized_keys": None}
    options.update(values)
    return options


def test_cloud_init_inline_with_ssh_keys_appended():
    spec = _tspec(build_vm(_params(
        disks=[_disk(container_disk="img")],
        cloud_init=_cloud_init(user_data="#cloud-config\nuser: fedora", network_data="version: 2", ssh_authorized_keys=["ssh-ed25519 AAAA me@host"]),
    )))
    assert spec["domain"]["devices"]["disks"][-1] == {"name": "cloudinitdisk", "disk": {"bus": "virtio"}}
    source = spec["volumes"][-1]["cloudInitNoCloud"]
    assert yaml.safe_load(source["userData"]) == {"user": "fedora", "ssh_authorized_keys": ["ssh-ed25519 AAAA me@host"]}
    assert source["userData"].startswith("#cloud-config\nuser: fedora\n")
    assert source["networkData"] == "version: 2"


def test_ssh_keys_merge_into_an_existing_key_list():
    user_data = "#cloud-config\nssh_authorized_keys:\n  - ssh-rsa OLD\n"
    options = _cloud_init(user_data=user_data, ssh_authorized_keys=["ssh-rsa NEW", "ssh-rsa OLD"])
    source = _tspec(build_vm(_params(cloud_init=options)))["volumes"][0]["cloudInitNoCloud"]
    assert yaml.safe_load(source["userData"])["ssh_authorized_keys"] == ["ssh-rsa OLD", "ssh-rsa NEW"]


def test_ssh_keys_alone_make_a_cloud_config():
    source = _tspec(build_vm(_params(cloud_init=_cloud_init(ssh_authorized_keys=["ssh-ed25519 K"]))))["volumes"][0]["cloudInitNoCloud"]
    assert source["userData"].startswith("#cloud-config\n")
    assert yaml.safe_load(source["userData"]) == {"ssh_authorized_keys": ["ssh-ed25519 K"]}


def test_ssh_keys_need_cloud_config_user_data():
    with pytest.raises(KubeApiError, match="needs cloud_init.user_data to be a #cloud-config"):
        build_vm(_params(cloud_init=_cloud_init(user_data="#!/bin/sh\necho hi", ssh_authorized_keys=["k"])))


def test_cloud_init_from_secrets():
    source = _tspec(build_vm(_params(cloud_init=_cloud_init(user_data_secret="ud", network_data_secret="nd"))))["volumes"][0]["cloudInitNoCloud"]
    assert source == {"secretRef": {"name": "ud"}, "networkDataSecretRef": {"name": "nd"}}


def test_access_credentials_add_a_cloud_init_disk_for_no_cloud():
    spec = _tspec(build_vm(_params(ssh_key_secrets=[
        {"secret": "keys", "propagation_method": "no_cloud", "users": None},
        {"secret": "live-keys", "propagation_method": "qemu_guest_agent", "users": ["fedora"]},
    ])))
    assert spec["accessCredentials"] == [
        {"sshPublicKey": {"source": {"secret": {"secretName": "keys"}}, "propagationMethod": {"noCloud": {}}}},
        {"sshPublicKey": {"source": {"secret": {"secretName": "live-keys"}}, "propagationMethod": {"qemuGuestAgent": {"users": ["fedora"]}}}},
    ]
    assert spec["volumes"] == [{"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "#cloud-config\n"}}]


def test_guest_agent_propagation_needs_users():
    with pytest.raises(KubeApiError, match=r"ssh_key_secrets\[0\].users: required"):
        build_vm(_params(ssh_key_secrets=[{"secret": "k", "propagation_method": "qemu_guest_agent", "users": None}]))


def test_scheduling_options():
    spec = _tspec(build_vm(_params(
        node_selector={"zone": "a"}, tolerations=[{"key": "k", "operator": "Exists"}],
        affinity={"nodeAffinity": {}}, eviction_strategy="LiveMigrate", termination_grace_period=30,
    )))
    assert spec["nodeSelector"] == {"zone": "a"}
    assert spec["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert spec["affinity"] == {"nodeAffinity": {}}
    assert spec["evictionStrategy"] == "LiveMigrate"
    assert spec["terminationGracePeriodSeconds"] == 30


def test_raw_spec_is_merged_under_the_options():
    raw = {
        "runStrategy": "Halted",
        "template": {"spec": {
            "domain": {"firmware": {"bootloader": {"efi": {}}}, "devices": {"disks": [{"name": "root", "disk": {"bus": "sata"}, "serial": "abc"}]}},
            "hostname": "custom",
        }},
    }
    vm = build_vm(_params(spec=raw, run_strategy="Always", disks=[_disk(container_disk="img", bus="virtio")]))
    spec = _tspec(vm)
    assert vm["spec"]["runStrategy"] == "Always"
    assert spec["hostname"] == "custom"
    assert spec["domain"]["firmware"] == {"bootloader": {"efi": {}}}
    assert spec["domain"]["devices"]["disks"] == [{"name": "root", "disk": {"bus": "virtio"}, "serial": "abc"}]
    assert raw["runStrategy"] == "Halted"  # the option value is not modified


def test_raw_spec_nulls_are_not_sent():
    vm = build_vm(_params(spec={"template": {"spec": {"hostname": None, "subdomain": "s"}}}))
    assert "hostname" not in _tspec(vm) and _tspec(vm)["subdomain"] == "s"


# -- what a task declares ---------------------------------------------------------------------
DOMAIN = ("spec", "template", "spec", "domain")
DISKS = DOMAIN + ("devices", "disks")
VOLUMES = ("spec", "template", "spec", "volumes")


def test_a_task_with_only_a_run_strategy_declares_only_the_run_strategy():
    declared = declared_paths(_params(run_strategy="Halted", restart=False, state="present", wait=True))
    assert declared.covers(("spec", "runStrategy"))
    for kept in (("metadata", "labels", "app"), DOMAIN + ("memory",), DOMAIN + ("cpu",), DISKS + ("root",),
                 VOLUMES + ("cloudinitdisk",), ("spec", "template", "spec", "networks"), ("spec", "dataVolumeTemplates")):
        assert not declared.covers(kept), kept


def test_given_options_declare_what_they_build():
    declared = declared_paths(_params(labels={}, networks=[], node_selector={"a": "b"}, template_labels={"x": "y"}))
    assert declared.covers(("metadata", "labels", "anything"))
    assert declared.covers(DOMAIN + ("devices", "interfaces"))
    assert declared.covers(("spec", "template", "spec", "networks"))
    assert declared.covers(("spec", "template", "spec", "nodeSelector", "old"))
    assert declared.covers(("spec", "template", "metadata", "labels", "kubevirt.io/domain"))
    assert not declared.covers(("metadata", "annotations"))


def test_disks_declare_every_disk_but_the_cloud_init_one_unless_cloud_init_is_given():
    disks_only = declared_paths(_params(disks=[_disk(container_disk="img")]))
    assert disks_only.covers(DISKS + ("data",)) and disks_only.covers(VOLUMES + ("root",))
    assert disks_only.covers(("spec", "dataVolumeTemplates"))
    assert not disks_only.covers(DISKS + ("cloudinitdisk",)) and not disks_only.covers(VOLUMES + ("cloudinitdisk",))
    both = declared_paths(_params(disks=[], cloud_init=_cloud_init(user_data="#cloud-config\n")))
    assert both.covers(DISKS + ("cloudinitdisk",)) and both.covers(DISKS + ("root",))
    cloud_init_only = declared_paths(_params(cloud_init=_cloud_init(user_data="#cloud-config\n")))
    assert cloud_init_only.covers(VOLUMES + ("cloudinitdisk",)) and not cloud_init_only.covers(VOLUMES + ("root",))


def test_sizing_options_release_each_other():
    memory = declared_paths(_params(memory="2Gi"))
    assert memory.covers(DOMAIN + ("memory", "guest")) and memory.covers(("spec", "instancetype"))
    assert not memory.covers(DOMAIN + ("cpu",))
    instancetype = declared_paths(_params(instancetype={"name": "u1.small"}))
    assert instancetype.covers(DOMAIN + ("cpu", "cores")) and instancetype.covers(DOMAIN + ("memory",))


def test_raw_spec_declares_its_leaves_only():
    declared = declared_paths(_params(spec={"template": {"spec": {
        "domain": {"firmware": {"bootloader": {"efi": {"secureBoot": False}}}},
        "volumes": [{"name": "root", "containerDisk": {"imagePullPolicy": "Always"}}],
        "hostname": None,
    }}}))
    assert declared.covers(DOMAIN + ("firmware", "bootloader", "efi", "secureBoot"))
    assert not declared.covers(DOMAIN + ("firmware", "bootloader", "bios"))
    assert declared.covers(("spec", "template", "spec", "hostname"))
    assert not declared.covers(VOLUMES + ("root",)) and declared.reaches_below(VOLUMES + ("root",))
    assert not declared.covers(DOMAIN + ("memory",))
