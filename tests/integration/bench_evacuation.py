# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of virt.kubevirt.node_maintenance evacuating a node (not a test).

    python tests/integration/bench_evacuation.py [--vms 20] [--time-scale 0.2] [--write-docs]

On fresh local clusters (3 nodes, KubeVirt's default limits: 5 per cluster, 2 outbound per node)
it measures one live migration alone (a VMIM, polled every 20 ms), then evacuates node01 holding
``--vms`` live-migratable VMs once with the module and once with ``kubectl drain`` (which retries a
429 every 5 s). The floor is ceil(vms / 2) x one migration. The module's time is its ``duration``
(ansible-playbook start-up left out); kubectl's is its wall time. The peak number of migrations
in flight comes from sampling the VMIM objects every 50 ms. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.cluster.pytest_plugin import ClusterHandle  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration import node_fleet as fleet  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.conftest import ansible_env  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.inventory.bench_inventory import build_collection  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
NS = "bench"
MEMORY = "1Gi"


def _cluster(work: Path, name: str, time_scale: float) -> ClusterHandle:
    return ClusterHandle(work / name, ("--flavor", "kubernetes"), time_scale=time_scale)


def one_migration(work: Path, time_scale: float) -> float:
    cluster = _cluster(work, "solo", time_scale)
    try:
        fleet.namespace(cluster, NS)
        fleet.fill_node(cluster, NS, "node01", ["solo"], memory=MEMORY)
        started = time.monotonic()
        fleet.call(cluster, "POST", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstancemigrations" % NS, {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "solo"}, "spec": {"vmiName": "solo"}})
        while (fleet.migrations(cluster, NS)[0].get("status") or {}).get("phase") != "Succeeded":
            time.sleep(0.02)
        return time.monotonic() - started
    finally:
        cluster.stop()


class Sampler(threading.Thread):
    """Peak count of unfinished VMIMs while a drain runs."""

    def __init__(self, cluster: ClusterHandle) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            active = [m for m in fleet.migrations(self.cluster, NS)
                      if (m.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            self.peak = max(self.peak, len(active))
            time.sleep(0.05)


def evacuate(work: Path, collections: Path, method: str, vms: int, time_scale: float) -> Dict[str, Any]:
    cluster = _cluster(work, method, time_scale)
    try:
        fleet.namespace(cluster, NS)
        fleet.fill_node(cluster, NS, "node01", ["vm%02d" % i for i in range(1, vms + 1)], memory=MEMORY)
        sampler = Sampler(cluster)
        sampler.start()
        started = time.monotonic()
        if method == "module":
            seconds = _module(cluster, collections, work)
        else:
            proc = subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "drain", "node01", "--ignore-daemonsets",
                                   "--delete-emptydir-data", "--timeout=900s"], capture_output=True, text=True, check=False)
            if proc.returncode:
                raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
            seconds = time.monotonic() - started
        sampler.done.set()
        sampler.join()
        left = [v for v in fleet.vmis(cluster, NS) if v["status"].get("nodeName") == "node01"]
        return {"method": method, "seconds": seconds, "peak": sampler.peak, "left": len(left),
                "migrations": len(fleet.migrations(cluster, NS))}
    finally:
        cluster.stop()


def _module(cluster: ClusterHandle, collections: Path, work: Path) -> float:
    result_file = work / "module-result.json"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"virt.kubevirt.node_maintenance": {"name": "node01", "kubeconfig": cluster.kubeconfig, "wait_timeout": 900},
         "register": "out"},
        {"ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(result_file)}}]}]
    playbook = work / "evacuate.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = ansible_env(collections, work)
    subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)], env=env,
                   check=True, capture_output=True, cwd=str(work))
    return float(json.loads(result_file.read_text())["duration"])


def table(vms: int, single: float, rows: List[Dict[str, Any]], time_scale: float) -> str:
    floor = math.ceil(vms / 2) * single
    lines = ["Local cluster, time scale %s, %d VMs of %s on node01, %s, Python %s." % (
        time_scale, vms, MEMORY, platform.machine(), platform.python_version()),
        "One migration alone: %.2f s; floor ceil(%d / 2) x %.2f s = %.2f s." % (single, vms, single, floor), "",
        "| method | seconds | x floor | peak migrations in flight | VMIMs | VMIs left on node01 |",
        "|---|---|---|---|---|---|"]
    for row in rows:
        cells = (row["method"], row["seconds"], row["seconds"] / floor, row["peak"], row["migrations"], row["left"])
        lines.append("| %s | %.1f | %.2f | %d | %d | %d |" % cells)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        collections = build_collection(work)
        single = one_migration(work, args.time_scale)
        rows = [evacuate(work, collections, "module", args.vms, args.time_scale),
                evacuate(work, collections, "kubectl drain", args.vms, args.time_scale)]
    text = table(args.vms, single, rows, args.time_scale)
    print(text)
    if args.write_docs:
        (REPO / "docs" / "evacuation-benchmark-results.md").write_text(text)


if __name__ == "__main__":
    main()
