# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm input mistakes: each fails with one line naming the option, before any request."""

from __future__ import annotations

import pytest

IMAGE = "quay.io/containerdisks/fedora:41"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def _vm_args(namespace, **extra):
    args = {
        "name": "vm1",
        "namespace": namespace,
        "run_strategy": "Halted",
        "memory": "1Gi",
        "disks": [{"name": "root", "container_disk": IMAGE}],
        "networks": [{"name": "default"}],
    }
    args.update(extra)
    return args


def _disk(**extra):
    return dict({"name": "root", "container_disk": IMAGE}, **extra)


def _dv(**extra):
    return {"name": "root", "data_volume": dict({"registry": "docker://" + IMAGE, "size": "5Gi"}, **extra)}


def _net(**extra):
    return dict({"name": "default"}, **extra)


# (id, options over a valid VM, fragment of the message); the message must name the option's path.
CASES = [
    # -- names
    ("name-64-chars", {"name": "a" * 64}, "name: must be at most 63 characters"),
    ("name-dotdot", {"name": ".."}, "name: must be an object name, not a path"),
    ("name-slash", {"name": "a/b"}, "name: must be an object name, not a path"),
    ("name-uppercase", {"name": "My_VM"}, "name: must be lowercase letters"),
    ("name-empty", {"name": ""}, "name: must not be empty"),
    ("namespace-empty", {"namespace": ""}, "namespace: must not be empty"),
    ("namespace-slash", {"namespace": "a/b"}, "namespace: must be lowercase letters"),
    ("namespace-dotted", {"namespace": "a.b"}, "namespace: must be lowercase letters"),
    # -- compute
    ("memory-newline", {"memory": "1Gi\n"}, "memory: '1Gi\\n' is not a valid Kubernetes quantity"),
    ("memory-abc", {"memory": "abc"}, "memory: 'abc' is not a valid Kubernetes quantity"),
    ("memory-zero", {"memory": "0"}, "memory: must be more than zero"),
    ("memory-negative", {"memory": "-1Gi"}, "memory: '-1Gi' is not a valid Kubernetes quantity"),
    ("cpu-cores-2^32", {"cpu": {"cores": 2 ** 32}}, "cpu.cores: must be from 1 to 4294967295, got 4294967296"),
    ("cpu-sockets-zero", {"cpu": {"sockets": 0}}, "cpu.sockets: must be from 1 to 4294967295, got 0"),
    ("cpu-plain-int", {"cpu": 2}, "cpu must be a dictionary with cores, sockets, threads, for example cpu: {cores: ...}; got 2 (int)"),
    ("cpu-cores-word", {"cpu": {"cores": "two"}}, "argument 'cores' is of type str found in 'cpu'"),
    ("cpu-unknown-suboption", {"cpu": {"corez": 2}}, "cpu.corez"),
    ("instancetype-and-cpu", {"instancetype": {"name": "u1.small"}, "cpu": {"cores": 1}}, "cpu/memory: conflicts with instancetype"),
    ("instancetype-and-preference-strings", {"instancetype": "u1.small", "preference": "centos.stream9", "memory": None},
     "instancetype must be a dictionary with infer_from_volume, infer_from_volume_failure_policy, kind, name,"
     " for example instancetype: {name: ...}; got 'u1.small' (str)"),
    ("instancetype-bad-name", {"instancetype": {"name": "U1 Small"}, "memory": None}, "instancetype.name: must be"),
    ("infer-from-unknown-disk", {"memory": None, "instancetype": {"infer_from_volume": "data"}},
     "instancetype.infer_from_volume: 'data' is not one of the disks (root)"),
    # -- dict options given strings
    ("labels-string", {"labels": "oops"}, "argument 'labels' is of type str"),
    ("cloud-init-string", {"cloud_init": "oops"}, "cloud_init must be a dictionary with"),
    ("disks-string", {"disks": "root"}, "disks must be a list of dictionaries"),
    ("disk-item-string", {"disks": ["root"]}, "disks[0] must be a dictionary with"),
    ("data-volume-string", {"disks": [{"name": "root", "data_volume": "docker://x"}]}, "disks[0].data_volume must be a dictionary"),
    ("ports-item-int", {"networks": [_net(ports=[22])]}, "networks[0].ports[0] must be a dictionary with name, port, protocol"),
    # -- disks
    ("disk-duplicate", {"disks": [_disk(), _disk()]}, "disks[1].name: 'root' is already used by disks[0].name"),
    ("disk-empty-name", {"disks": [_disk(name="")]}, "disks[0].name: must not be empty"),
    ("disk-blank-name", {"disks": [_disk(name="   ")]}, "disks[0].name: must not be empty or only whitespace"),
    ("disk-bad-name", {"disks": [_disk(name="Root_1")]}, "disks[0].name: must be lowercase letters"),
    ("disk-control-char", {"disks": [_disk(name="ro\x01ot")]}, "disks[0].name: must not contain control characters"),
    ("disk-cloudinitdisk", {"disks": [_disk(name="cloudinitdisk")]}, "disks[0] (cloudinitdisk).name: cloudinitdisk is the cloud-init disk"),
    ("disk-existing-dv-name", {"disks": [{"name": "root", "existing_data_volume": "Golden_Image"}]},
     "disks[0] (root).existing_data_volume: must be"),
    ("disk-bus", {"disks": [_disk(bus="ide")]}, "disks[0] (root).bus: must be one of virtio, sata, scsi, usb, got 'ide'"),
    ("cdrom-virtio", {"disks": [_disk(type="cdrom", bus="virtio")]}, "disks[0] (root).bus: virtio cannot be used for a cdrom"),
    ("boot-order-zero", {"disks": [_disk(boot_order=0)]}, "disks[0] (root).boot_order: must be from 1 to 4294967295"),
    ("boot-order-twice", {"disks": [_disk(boot_order=1), _disk(name="data", pvc="data", container_disk=None, boot_order=1)]},
     "disks[1] (data).boot_order: 1 is already used by disks[0] (root).boot_order"),
    ("container-disk-scheme", {"disks": [_disk(container_disk="docker://" + IMAGE)]}, "disks[0] (root).container_disk: must be an image reference"),
    ("pvc-path", {"disks": [{"name": "root", "pvc": "a/b"}]}, "disks[0] (root).pvc: must be an object name, not a path"),
    ("two-disk-sources", {"disks": [_disk(pvc="data")]},
     "parameters are mutually exclusive: container_disk|pvc|existing_data_volume|data_volume found in disks"),
    # -- DataVolumes
    ("dv-no-source", {"disks": [{"name": "root", "data_volume": {"size": "5Gi"}}]},
     "disks[0] (root).data_volume: needs a source: set one of url, registry, clone_pvc, data_source, blank"),
    ("dv-size-zero", {"disks": [_dv(size="0")]}, "disks[0] (root).data_volume.size: must be more than zero"),
    ("dv-size-bad", {"disks": [_dv(size="20 GB")]}, "disks[0] (root).data_volume.size: '20 GB' is not a valid Kubernetes quantity"),
    ("dv-size-missing", {"disks": [_dv(size=None)]}, "disks[0] (root).data_volume.size: required unless the disk clones a PVC"),
    ("dv-url-no-scheme", {"disks": [_dv(registry=None, url="example.com/disk.img")]},
     "disks[0] (root).data_volume.url: must be a URL starting with http:// or https://"),
    ("dv-url-ftp", {"disks": [_dv(registry=None, url="ftp://example.com/disk.img")]}, "disks[0] (root).data_volume.url: must be a URL"),
    ("dv-url-spaces", {"disks": [_dv(registry=None, url="not a url")]}, "disks[0] (root).data_volume.url: must not contain whitespace"),
    ("dv-registry-no-docker", {"disks": [_dv(registry=IMAGE)]}, "disks[0] (root).data_volume.registry: must be docker://<image>"),
    ("dv-name-invalid", {"disks": [_dv(name="Root_DV")]}, "disks[0] (root).data_volume.name: must be lowercase letters"),
    ("dv-name-dotdot", {"disks": [_dv(name="..")]}, "disks[0] (root).data_volume.name: must be an object name, not a path"),
    ("dv-name-duplicate", {"disks": [_dv(name="shared"), dict(_dv(name="shared"), name="data")]},
     "disks[1] (data).data_volume.name: 'shared' is already used by disks[0] (root).data_volume.name"),
    ("dv-clone-bad-namespace", {"disks": [_dv(registry=None, size=None, clone_pvc={"name": "src", "namespace": "A B"})]},
     "disks[0] (root).data_volume.clone_pvc.namespace: must be lowercase letters"),
    # -- networks
    ("network-duplicate", {"networks": [_net(), _net(network_name="vlan")]}, "networks[1].name: 'default' is already used by networks[0].name"),
    ("two-pod-networks", {"networks": [_net(), _net(name="second")]}, "networks[1] (second): a VM has one pod network, already used by networks[0]"),
    ("nic-model", {"networks": [_net(model="e1000x")]},
     "networks[0] (default).model: must be one of e1000, e1000e, igb, ne2k_pci, pcnet, rtl8139, virtio, got 'e1000x'"),
    ("mac-bad", {"networks": [_net(mac_address="02:00:00:00:00")]}, "networks[0] (default).mac_address: must be a MAC address"),
    ("mac-multicast", {"networks": [_net(mac_address="01:00:5e:00:00:01")]}, "networks[0] (default).mac_address: must be a unicast MAC address"),
    ("mac-duplicate", {"networks": [_net(mac_address="02:00:00:00:00:01"), _net(name="b", network_name="vlan", mac_address="02-00-00-00-00-01")]},
     "networks[1] (b).mac_address: '02:00:00:00:00:01' is already used by networks[0] (default).mac_address"),
    ("port-zero", {"networks": [_net(ports=[{"port": 0}])]}, "networks[0] (default).ports[0].port: must be from 1 to 65535, got 0"),
    ("port-too-big", {"networks": [_net(ports=[{"port": 65536}])]}, "networks[0] (default).ports[0].port: must be from 1 to 65535, got 65536"),
    ("port-duplicate", {"networks": [_net(ports=[{"port": 22}, {"port": 22, "protocol": "TCP"}])]},
     "networks[0] (default).ports[1].port: (22, 'TCP') is already used by networks[0] (default).ports[0].port"),
    ("network-bad-name", {"networks": [_net(name="my net")]}, "networks[0].name: must be letters, digits, '-' and '_' only"),
    ("port-name-invalid", {"networks": [_net(ports=[{"port": 22, "name": "SSH_port"}])]},
     "networks[0] (default).ports[0].name: must be at most 15 lowercase letters"),
    ("port-name-duplicate", {"networks": [_net(ports=[{"port": 22, "name": "ssh"}, {"port": 2222, "name": "ssh"}])]},
     "networks[0] (default).ports[1].name: 'ssh' is already used by networks[0] (default).ports[0].name"),
    ("network-name-path", {"networks": [_net(network_name="a/b/c")]}, "networks[0] (default).network_name: must be name or namespace/name"),
    ("masquerade-on-multus", {"networks": [_net(network_name="vlan", binding="masquerade")]},
     "networks[0] (default).binding: masquerade only works on the pod network"),
    ("ports-on-bridge", {"networks": [_net(binding="bridge", ports=[{"port": 22}])]}, "networks[0] (default).ports: port forwarding needs binding masquerade"),
    # -- cloud-init and SSH keys
    ("user-data-bad-yaml", {"cloud_init": {"user_data": "#cloud-config\nusers: [fedora\n"}}, "cloud_init.user_data: is not valid YAML at line"),
    ("user-data-list", {"cloud_init": {"user_data": "#cloud-config\n- a\n- b\n"}},
     "cloud_init.user_data: must be a YAML mapping (a #cloud-config document), got a list"),
    ("user-data-empty", {"cloud_init": {"user_data": "  "}}, "cloud_init.user_data: must not be empty"),
    ("user-data-nul", {"cloud_init": {"user_data": "#!/bin/sh\necho \x00\n"}}, "cloud_init.user_data: must not contain control characters"),
    ("network-data-bad-yaml", {"cloud_init": {"network_data": "version: 2\nethernets: {eth0: [\n"}}, "cloud_init.network_data: is not valid YAML"),
    ("network-data-text", {"cloud_init": {"network_data": "dhcp everywhere"}}, "cloud_init.network_data: must be a YAML mapping"),
    ("ssh-private-key", {"cloud_init": {"ssh_authorized_keys": [PRIVATE_KEY]}},
     "cloud_init.ssh_authorized_keys[0]: is a private key; give the public key"),
    ("ssh-not-a-key", {"cloud_init": {"ssh_authorized_keys": ["hunter2"]}}, "cloud_init.ssh_authorized_keys[0]: must be an SSH public key line"),
    ("ssh-two-lines", {"cloud_init": {"ssh_authorized_keys": ["ssh-ed25519 AAAAC3Nza a@b\nssh-rsa AAAAB3 c@d"]}},
     "cloud_init.ssh_authorized_keys[0]: must not contain control characters or line breaks"),
    ("user-data-and-secret", {"cloud_init": {"user_data": "#cloud-config\n", "user_data_secret": "ud"}},
     "parameters are mutually exclusive: user_data|user_data_secret found in cloud_init"),
    ("secret-bad-name", {"ssh_key_secrets": [{"secret": "My Keys"}]}, "ssh_key_secrets[0].secret: must be lowercase letters"),
    ("secret-duplicate", {"ssh_key_secrets": [{"secret": "keys"}, {"secret": "keys"}]}, "ssh_key_secrets[1].secret: 'keys' is already used by"),
    ("guest-agent-without-users", {"ssh_key_secrets": [{"secret": "keys", "propagation_method": "qemu_guest_agent"}]},
     "ssh_key_secrets[0].users: required with propagation_method qemu_guest_agent"),
    # -- labels, annotations, scheduling
    ("template-label-key-space", {"template_labels": {"my app": "web"}}, "template_labels key 'my app': must be letters"),
    ("template-label-key-prefix", {"template_labels": {"Example.COM/app": "web"}}, "template_labels key 'Example.COM/app': the prefix before '/'"),
    ("template-label-value-long", {"template_labels": {"app": "x" * 64}}, "template_labels.app: must be at most 63 characters"),
    ("template-label-value-chars", {"template_labels": {"app": "web server"}}, "template_labels.app: must be empty or letters"),
    ("label-value-int", {"labels": {"tier": 1}}, "labels.tier: must be a string, got 1 (int); quote it in YAML"),
    ("label-key-long", {"labels": {"k" * 64: "v"}}, "labels key '%s': the name part must be at most 63 characters" % ("k" * 64)),
    ("annotation-value-bool", {"annotations": {"backup": True}}, "annotations.backup: must be a string, got True (bool)"),
    ("node-selector-key", {"node_selector": {"bad key": "x"}}, "node_selector key 'bad key'"),
    ("toleration-operator", {"tolerations": [{"key": "a", "operator": "Equals"}]}, "tolerations[0].operator: must be one of Exists, Equal"),
    ("grace-period-negative", {"termination_grace_period": -1}, "termination_grace_period: must be from 0 to 2147483647, got -1"),
    ("grace-period-huge", {"termination_grace_period": 2 ** 31}, "termination_grace_period: must be from 0 to 2147483647"),
    ("wait-timeout-negative", {"wait_timeout": -5}, "wait_timeout must be zero or more seconds, got -5"),
    ("spec-string", {"spec": "runStrategy: Always"}, "argument 'spec' is of type str"),
    # -- power
    ("restart-halted", {"run_strategy": "Halted", "restart": True}, "restart: the task sets run_strategy Halted, which KubeVirt does not restart"),
    ("restart-once", {"run_strategy": "Once", "restart": True}, "restart: the task sets run_strategy Once"),
    # -- deletion
    ("delete-grace-negative", {"state": "absent", "delete_options": {"gracePeriodSeconds": -1}},
     "delete_options.gracePeriodSeconds: must be 0 or more, got -1"),
    ("delete-name-path", {"state": "absent", "name": "../other"}, "name: must be an object name, not a path"),
]


def _option(fragment):
    """The option path the message starts with (before ':' or ' must')."""
    return fragment.split(":")[0].split(" must")[0]


@pytest.mark.parametrize("overrides, fragment", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_fails_before_any_request(runner, namespace, overrides, fragment):
    args = dict(_vm_args(namespace), **overrides)
    args = {key: value for key, value in args.items() if value is not None}
    if isinstance(overrides.get("disks"), list):
        args["disks"] = [{k: v for k, v in d.items() if v is not None} if isinstance(d, dict) else d for d in args["disks"]]
        for disk in args["disks"]:
            if isinstance(disk, dict) and isinstance(disk.get("data_volume"), dict):
                disk["data_volume"] = {k: v for k, v in disk["data_volume"].items() if v is not None}
    run = runner.run("vm", args)
    assert run.failed, run
    assert fragment in run.msg, run.msg
    assert _option(fragment) in run.msg
    assert "\n" not in run.msg and "Traceback" not in run.output and "MODULE FAILURE" not in run.output, run.output
    assert run.requests == [], run


def test_cases_are_unique():
    assert len({case[0] for case in CASES}) == len(CASES)


def test_restart_of_a_halted_vm_fails_before_any_write(runner, namespace, kube):
    created = runner.run("vm", _vm_args(namespace))
    assert not created.failed, created
    # The task changes the memory and asks for a restart, but leaves the run strategy (Halted) alone.
    run = runner.run("vm", {"name": "vm1", "namespace": namespace, "memory": "2Gi", "restart": True})
    assert run.failed, run
    assert run.msg.startswith("restart: the VM has run_strategy Halted, which KubeVirt does not restart"), run.msg
    assert [r["verb"] for r in run.requests] == ["get"], run
    assert kube.vm(namespace, "vm1")["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "1Gi"


def test_valid_input_still_creates_the_vm(runner, namespace, kube):
    """The checks accept what the table's base and documented examples use."""
    args = _vm_args(
        namespace,
        labels={"app.kubernetes.io/name": "web", "empty": ""},
        template_labels={"example.com/tier": "front"},
        annotations={"note": "anything: goes here"},
        cpu={"cores": 2},
        disks=[_disk(bus="virtio", boot_order=1), _dv(name="vm1-data", size="1Gi") | {"name": "data"}],
        networks=[_net(mac_address="02:00:00:00:20:01", model="virtio", ports=[{"port": 22}, {"port": 22, "protocol": "UDP"}]),
                  _net(name="vlan20", network_name="prod/vlan20")],
        cloud_init={"user_data": "#cloud-config\n", "network_data": "version: 2\n",
                    "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG test@ci\n",
                                            "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t key"]},
        node_selector={"kubernetes.io/os": "linux"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}],
        termination_grace_period=0,
    )
    run = runner.run("vm", args)
    assert not run.failed, run
    vm = kube.vm(namespace, "vm1")
    assert vm["spec"]["dataVolumeTemplates"][0]["metadata"]["name"] == "vm1-data"
    user_data = [v for v in vm["spec"]["template"]["spec"]["volumes"] if v["name"] == "cloudinitdisk"][0]["cloudInitNoCloud"]["userData"]
    assert user_data.startswith("#cloud-config\n") and "test@ci" in user_data
