# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Objects the vm_restore and vm_clone tests start from (a VM with bytes on its disk, a snapshot),
made through the API, not under test here."""

from __future__ import annotations

from typing import Any, Dict, Optional

SNAPSHOT_GROUP = "snapshot.kubevirt.io"


def disk_vm(objects: Any, cluster: Any, namespace: str, name: str, data: bytes, running: bool = False,
            labels: Optional[Dict[str, str]] = None, storage_class: Optional[str] = None) -> Dict[str, Any]:
    """A VM booting a blank DataVolume on the default (ceph-rbd, snapshot-capable) class or ``storage_class``,
    ``data`` written to it."""
    storage: Dict[str, Any] = {"resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        storage["storageClassName"] = storage_class
    body = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {
            "runStrategy": "Halted",
            "dataVolumeTemplates": [{"metadata": {"name": name + "-root"}, "spec": {
                "source": {"blank": {}}, "storage": storage}}],
            "template": {"spec": {
                "domain": {"memory": {"guest": "1Gi"}, "firmware": {"serial": name + "-serial"}, "devices": {
                    "disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}],
                    "interfaces": [{"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00:01"}]}},
                "networks": [{"name": "default", "pod": {}}],
                "volumes": [{"name": "rootdisk", "dataVolume": {"name": name + "-root"}}],
            }},
        },
    }
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", body)
    objects.wait("DataVolume %s-root Succeeded" % name, lambda: ((objects.get(
        "cdi.kubevirt.io", "datavolumes", namespace, name + "-root") or {}).get("status") or {}).get("phase") == "Succeeded")
    cluster.write_pvc_data(namespace, name + "-root", data)
    if running:
        objects.custom.patch_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", name,
                                                      {"spec": {"runStrategy": "Always"}})
        objects.wait("VM %s running" % name, lambda: ((objects.vm(namespace, name) or {}).get("status") or {}).get("ready"))
    return objects.vm(namespace, name)


def snapshot(objects: Any, namespace: str, name: str, vm: str) -> Dict[str, Any]:
    body = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}}
    objects.custom.create_namespaced_custom_object(SNAPSHOT_GROUP, "v1beta1", namespace, "virtualmachinesnapshots", body)
    return objects.wait("snapshot %s ready" % name, lambda: ((objects.get(
        SNAPSHOT_GROUP, "virtualmachinesnapshots", namespace, name) or {}).get("status") or {}).get("readyToUse")
        and objects.get(SNAPSHOT_GROUP, "virtualmachinesnapshots", namespace, name))


def claim_of(vm: Dict[str, Any], volume: str = "rootdisk") -> str:
    spec = vm["spec"]["template"]["spec"]
    source = next(v for v in spec["volumes"] if v["name"] == volume)
    return (source.get("dataVolume") or {}).get("name") or source["persistentVolumeClaim"]["claimName"]
