# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Objects the vm_disk tests start from, made through the API (not under test here)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

from .conftest import _tool

IMAGE = "quay.io/containerdisks/fedora:41"


class Objects:
    """Create a VM, a DataVolume or a PVC on one cluster and wait for them to be usable."""

    def __init__(self, cluster: Any) -> None:
        from kubernetes import client as k8s

        self.k8s = k8s
        self.api_client = cluster.api_client()
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)

    def get(self, group: str, plural: str, namespace: str, name: str) -> Optional[Dict[str, Any]]:
        try:
            return self.custom.get_namespaced_custom_object(group, "v1" if group == "kubevirt.io" else "v1beta1",
                                                            namespace, plural, name)
        except self.k8s.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def vm(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
        return self.get("kubevirt.io", "virtualmachines", namespace, name)

    def vmi(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
        return self.get("kubevirt.io", "virtualmachineinstances", namespace, name)

    @staticmethod
    def wait(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what)

    def create_vm(self, namespace: str, name: str, running: bool = True) -> None:
        body = {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"runStrategy": "Always" if running else "Halted", "template": {"spec": {
                "domain": {"memory": {"guest": "1Gi"}, "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                "volumes": [{"name": "root", "containerDisk": {"image": IMAGE}}],
            }}},
        }
        self.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", body)
        if running:
            try:
                self.wait("VMI %s running" % name,
                          lambda: ((self.vmi(namespace, name) or {}).get("status") or {}).get("phase") == "Running")
            except AssertionError:
                raise AssertionError("VM %s did not run: %r / %r" % (name, self.vm(namespace, name), self.vmi(namespace, name)))

    def create_vmi(self, namespace: str, name: str) -> None:
        """A bare VMI (no VM owns it): only the VMI subresources can hot-plug into it."""
        body = {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"domain": {"memory": {"guest": "1Gi"}, "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                     "volumes": [{"name": "root", "containerDisk": {"image": IMAGE}}]},
        }
        self.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachineinstances", body)
        self.wait("VMI %s running" % name,
                  lambda: ((self.vmi(namespace, name) or {}).get("status") or {}).get("phase") == "Running")

    def create_dv(self, namespace: str, name: str) -> None:
        body = {
            "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}},
        }
        self.custom.create_namespaced_custom_object("cdi.kubevirt.io", "v1beta1", namespace, "datavolumes", body)
        self.wait("DataVolume %s Succeeded" % name, lambda: ((self.get(
            "cdi.kubevirt.io", "datavolumes", namespace, name) or {}).get("status") or {}).get("phase") == "Succeeded")

    def create_pvc(self, namespace: str, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
        self.core.create_namespaced_persistent_volume_claim(namespace, body)

        def bound() -> bool:
            status = self.core.read_namespaced_persistent_volume_claim(name, namespace).status
            return status is not None and status.phase == "Bound"  # no status until the binder gets to it

        self.wait("PVC %s Bound" % name, bound)


def template_volumes(vm: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {v["name"]: v for v in vm["spec"]["template"]["spec"].get("volumes") or []}


def template_disks(vm: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {d["name"]: d for d in vm["spec"]["template"]["spec"]["domain"]["devices"].get("disks") or []}


def volume_phases(vmi: Optional[Dict[str, Any]]) -> Dict[str, str]:
    return {v["name"]: v.get("phase", "") for v in ((vmi or {}).get("status") or {}).get("volumeStatus") or []}


def verbs(run: Any) -> List[str]:
    return [r["verb"] for r in run.requests]


def run_batch(runner: Any, tasks: List[Dict[str, Any]], module: str = "vm_disk") -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Several tasks of ``module`` in one ansible-playbook (one start-up instead of one each), errors
    ignored: their registered results, and every request the play sent."""
    run_id = uuid.uuid4().hex[:8]
    saved = runner.workdir / ("disk-batch-%s.json" % run_id)
    cases = [{"name": "case %d" % index, "virt.kubevirt.%s" % module: args, "register": "case_%d" % index,
              "ignore_errors": True} for index, args in enumerate(tasks)]
    content = "{{ [%s] | to_json }}" % ", ".join("case_%d" % index for index in range(len(tasks)))
    save = {"name": "save the results", "ansible.builtin.copy": {"dest": str(saved), "content": content}}
    defaults = {"kubeconfig": runner.cluster.kubeconfig, "context": "local"}
    play = [{"hosts": "localhost", "gather_facts": False, "module_defaults": {"group/virt.kubevirt.kubevirt": defaults},
             "tasks": cases + [save]}]
    playbook = runner.workdir / ("disk-batch-%s.yml" % run_id)
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    mark = runner.cluster.mark()
    proc = subprocess.run([_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                          capture_output=True, text=True, env=runner.env(), cwd=str(runner.workdir), timeout=600, check=False)
    assert saved.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(saved.read_text()), runner.cluster.requests(since=mark)
