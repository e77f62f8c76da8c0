# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``ansible-inventory`` with the built collection against the local test cluster.

The collection comes from the session fixture ``collections_path`` (tests/integration/conftest.py:
built with ansible-galaxy and installed into a temporary path). Objects are created directly
through the API with the kubernetes client, never by the plugin under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import yaml

BIN = Path(sys.executable).parent
RUN_TIMEOUT = 60.0


class InventoryRun:
    """One ``ansible-inventory`` invocation: exit code, output and the requests it sent."""

    def __init__(self, proc: subprocess.CompletedProcess, requests: List[Dict[str, Any]]) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.requests = requests

    @property
    def data(self) -> Dict[str, Any]:
        assert self.returncode == 0, self.stdout + self.stderr
        return json.loads(self.stdout)

    @property
    def hostvars(self) -> Dict[str, Dict[str, Any]]:
        return self.data["_meta"]["hostvars"]

    def hosts(self, group: str) -> List[str]:
        """Hosts of a group including its child groups (as --list nests them)."""
        data = self.data
        found: List[str] = []
        pending = [group]
        while pending:
            entry = data.get(pending.pop(), {})
            found.extend(entry.get("hosts", []))
            pending.extend(entry.get("children", []))
        return sorted(set(found))

    @property
    def writes(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["write"]]

    def __repr__(self) -> str:
        return "InventoryRun(rc=%s, requests=%r, stderr=%r)" % (
            self.returncode, [(r["method"], r["path"], r["query"], r["status"]) for r in self.requests], self.stderr[-2000:],
        )


def plain(value: Any) -> Any:
    """--list marks untrusted strings as {"__ansible_unsafe": "..."}: the plain value."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class Inventory:
    """Writes inventory sources and runs ansible-inventory / ansible-playbook on them."""

    def __init__(self, collections: Path, workdir: Path, ansible_env: Callable[..., Dict[str, str]]) -> None:
        self.collections = collections
        self.workdir = workdir
        self._ansible_env = ansible_env

    def env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = self._ansible_env(
            self.collections, self.workdir,
            ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
            ANSIBLE_INVENTORY_ENABLED="virt.kubevirt.kubevirt",
        )
        env.update(extra or {})
        return env

    def source(self, config: Dict[str, Any], name: Optional[str] = None) -> Path:
        path = self.workdir / (name or "%s.kubevirt.yml" % uuid.uuid4().hex[:8])
        path.write_text(yaml.safe_dump(dict({"plugin": "virt.kubevirt.kubevirt"}, **config), sort_keys=False))
        return path

    def run(self, cluster: Any, source: Path, *args: str, env: Optional[Dict[str, str]] = None) -> InventoryRun:
        mark = cluster.mark() if cluster is not None else 0
        proc = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(source), *(args or ("--list",))],
            capture_output=True, text=True, env=self.env(env), cwd=str(self.workdir), timeout=300, check=False,
        )
        requests = cluster.requests(since=mark) if cluster is not None else []
        return InventoryRun(proc, requests)

    def playbook(self, source: Path, play: List[Dict[str, Any]]) -> subprocess.CompletedProcess:
        path = self.workdir / ("play-%s.yml" % uuid.uuid4().hex[:8])
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(source), str(path)],
            capture_output=True, text=True, env=self.env(), cwd=str(self.workdir), timeout=300, check=False,
        )


@pytest.fixture(scope="session")
def inventory(collections_path, tmp_path_factory, ansible_environment) -> Inventory:
    return Inventory(collections_path, tmp_path_factory.mktemp("inventory"), ansible_environment)


class Objects:
    """Creates VMs, Services and NADs through the API and waits for VMs to run."""

    def __init__(self, cluster: Any) -> None:
        from kubernetes import client as k8s

        self.k8s = k8s
        self.api_client = cluster.api_client()
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)

    def namespace(self, prefix: str = "inv") -> str:
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
        self.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def vm(
        self,
        namespace: str,
        name: str,
        running: bool = True,
        labels: Optional[Dict[str, str]] = None,
        annotations: Optional[Dict[str, str]] = None,
        template_annotations: Optional[Dict[str, str]] = None,
        image: str = "quay.io/containerdisks/fedora:41",
        networks: Optional[List[Dict[str, Any]]] = None,
        interfaces: Optional[List[Dict[str, Any]]] = None,
        instancetype: Optional[str] = None,
        template_labels: Optional[Dict[str, str]] = None,
    ) -> Dict[str, Any]:
        spec: Dict[str, Any] = {
            "runStrategy": "Always" if running else "Halted",
            "template": {
                "metadata": {"labels": dict({"kubevirt.io/domain": name}, **(template_labels or {})),
                             "annotations": dict(template_annotations or {})},
                "spec": {
                    "domain": {
                        "devices": {"interfaces": interfaces or [{"name": "default", "masquerade": {}}]},
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": networks or [{"name": "default", "pod": {}}],
                    "volumes": [{"name": "rootdisk", "containerDisk": {"image": image}}],
                },
            },
        }
        if instancetype:
            spec["instancetype"] = {"kind": "VirtualMachineClusterInstancetype", "name": instancetype}
            del spec["template"]["spec"]["domain"]["resources"]
        body = {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {}),
                         "annotations": dict(annotations or {})},
            "spec": spec,
        }
        return self.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", body)

    def cluster_instancetype(self, name: str) -> None:
        body = {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
                "metadata": {"name": name}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}}
        try:
            self.custom.create_cluster_custom_object(
                "instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", body)
        except self.k8s.exceptions.ApiException as exc:
            if exc.status != 409:
                raise

    def service(self, namespace: str, name: str, domain: str, service_type: str, port: int, target_port: int,
                node_port: Optional[int] = None, ingress: Optional[List[Dict[str, str]]] = None) -> None:
        port_spec: Dict[str, Any] = {"name": "mgmt", "protocol": "TCP", "port": port, "targetPort": target_port}
        if node_port:
            port_spec["nodePort"] = node_port
        body = {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": service_type, "selector": {"kubevirt.io/domain": domain}, "ports": [port_spec]},
        }
        self.core.create_namespaced_service(namespace, body)
        if ingress:
            # What a load balancer controller writes once it has an address.
            self.core.patch_namespaced_service_status(name, namespace, {"status": {"loadBalancer": {"ingress": ingress}}})

    def network(self, namespace: str, name: str) -> None:
        config = {"cniVersion": "0.3.1", "name": name, "type": "bridge", "bridge": "br1",
                  "ipam": {"type": "host-local", "subnet": "192.168.77.0/24"}}
        body = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                "metadata": {"name": name, "namespace": namespace}, "spec": {"config": json.dumps(config)}}
        self.custom.create_namespaced_custom_object("k8s.cni.cncf.io", "v1", namespace, "network-attachment-definitions", body)

    def vmi(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
        try:
            return self.custom.get_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachineinstances", name)
        except self.k8s.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def wait_running(
        self, namespace: str, *names: str, interface: Optional[str] = None, timeout: float = RUN_TIMEOUT
    ) -> Dict[str, Dict[str, Any]]:
        """Each VMI once Running with an IP on its first interface (or on ``interface``: secondary
        networks get theirs from the guest agent, a little later)."""
        deadline = time.monotonic() + timeout
        found: Dict[str, Dict[str, Any]] = {}
        while True:
            for name in names:
                vmi = self.vmi(namespace, name)
                status = (vmi or {}).get("status") or {}
                interfaces = status.get("interfaces") or []
                if interface is not None:
                    interfaces = [i for i in interfaces if i.get("name") == interface]
                if status.get("phase") == "Running" and interfaces and interfaces[0].get("ipAddress"):
                    found[name] = vmi
            if len(found) == len(names):
                return found
            if time.monotonic() > deadline:
                raise AssertionError("VMIs not running in %s: %s" % (namespace, sorted(set(names) - set(found))))
            time.sleep(0.2)


@pytest.fixture(scope="session")
def objects(cluster) -> Objects:
    return Objects(cluster)
