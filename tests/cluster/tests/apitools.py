"""Shared helpers of the API machinery tests: manifests, raw watch streams, kubectl."""
from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
KUBECTL = str(REPO_ROOT / ".venv" / "bin" / "kubectl")


def vm_manifest(name: str, namespace: str, labels: Optional[dict] = None, run_strategy: str = "Halted",
                **spec: Any) -> dict:
    """A small valid VirtualMachine (containerDisk, 64Mi)."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
                               "resources": {"requests": {"memory": "64Mi"}}},
                    "volumes": [{"name": "root", "containerDisk": {
                        "image": "quay.io/containerdisks/fedora:41"}}],
                },
            },
            **spec,
        },
    }


def configmap(name: str, namespace: str, labels: Optional[dict] = None, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "data": dict(data)}


class RawWatch:
    """A watch stream read line by line over its own HTTPS connection."""

    def __init__(self, cluster, path: str, user: str = "admin", accept: str = "application/json",
                 timeout: float = 20) -> None:
        host, port = cluster.url.rsplit("//", 1)[1].split(":")
        self.conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(
            cafile=cluster.ca_file), timeout=timeout)
        token = cluster.admin_token if user == "admin" else cluster.restricted_token
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": accept})
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def events(self, limit: Optional[int] = None) -> Iterator[dict]:
        count = 0
        while limit is None or count < limit:
            line = self.response.readline()
            if not line:
                return
            if line.strip():
                count += 1
                yield json.loads(line)

    def take(self, n: int) -> list[dict]:
        return list(self.events(n))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "RawWatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def kubectl(cluster, *args: str, cache_dir: str, context: Optional[str] = None, input_text: Optional[str] = None,
            timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
    cmd = [KUBECTL, "--kubeconfig", cluster.kubeconfig, "--cache-dir", cache_dir]
    if context:
        cmd += ["--context", context]
    cmd += list(args)
    env = dict(os.environ, HOME=cache_dir, KUBECACHEDIR=cache_dir)
    result = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def update(cluster, path: str, mutate, subresource: str = "", attempts: int = 20):
    """GET, mutate, PUT; retried on 409 Conflict (controllers write status concurrently)."""
    for _ in range(attempts):
        obj = cluster.http("GET", path).json()
        mutate(obj)
        answer = cluster.http("PUT", path + (f"/{subresource}" if subresource else ""), obj)
        if answer.status != 409:
            return answer
        time.sleep(0.02)
    raise AssertionError(f"PUT {path} kept conflicting")
