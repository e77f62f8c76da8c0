"""Benchmark: a local cluster seeded with many VMs, listed page by page with the kubernetes client.

    .venv/bin/python -m tests.cluster.bench.list_bench [--vms 10000] [--namespaces 1000] [--limit 500]
                                                       [--runs 3] [--flavor openshift]

Starts ``python -m tests.cluster --seed-vms N --seed-namespaces M`` (time to "ready" includes seeding),
then lists VirtualMachines and VirtualMachineInstances cluster-wide with ``CustomObjectsApi`` in
pages of ``--limit`` (``limit`` / ``continue``), and launcher pods with ``CoreV1Api``, ``--runs``
times each, and prints a Markdown table (results go to tests/cluster/docs/benchmark.md by hand).
Not a test: nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from kubernetes import client

from tests.cluster.pytest_plugin import ClusterHandle


def paginate(fetch: Callable[[str], dict], limit: int) -> tuple[int, int, float]:
    """(objects, pages, seconds) for one full paginated list."""
    started = time.perf_counter()
    token, objects, pages = "", 0, 0
    while True:
        page = fetch(token)
        pages += 1
        objects += len(page["items"])
        token = page["metadata"].get("continue") or ""
        if not token:
            return objects, pages, time.perf_counter() - started


def wait_idle(handle: ClusterHandle, timeout: float = 300.0) -> float:
    """Seconds until the controllers have reconciled every seeded object (they find nothing to
    change, but look at each once), so that the lists below do not compete with them for the CPU."""
    started = time.perf_counter()
    quiet = 0
    while quiet < 3 and time.perf_counter() - started < timeout:
        state = handle.state()
        quiet = quiet + 1 if state.get("controllersIdle") else 0
        time.sleep(0.2)
    return time.perf_counter() - started


def machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {cpus} CPUs {model}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flavor", default="openshift", choices=("openshift", "kubernetes"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="list-bench-") as workdir:
        started = time.perf_counter()
        handle = ClusterHandle(Path(workdir), ("--flavor", args.flavor, "--seed-vms", str(args.vms),
                                               "--seed-namespaces", str(args.namespaces)), time_scale=1.0)
        ready = time.perf_counter() - started
        settled = wait_idle(handle)
        api_client = handle.api_client()
        custom, core = client.CustomObjectsApi(api_client), client.CoreV1Api(api_client)
        try:
            def raw(path: str, selector: str = "") -> Callable[[str], dict]:
                """Server + wire only: the JSON is parsed, no client models are built."""
                def fetch(token: str) -> dict:
                    query = f"?limit={args.limit}" + (f"&continue={token}" if token else "") + \
                        (f"&labelSelector={selector}" if selector else "")
                    answer = handle.http("GET", path + query, timeout=120)
                    assert answer.status == 200, answer
                    return answer.json()
                return fetch

            lists = {
                "VirtualMachines, CustomObjectsApi": lambda token: custom.list_cluster_custom_object(
                    "kubevirt.io", "v1", "virtualmachines", limit=args.limit, _continue=token or None),
                "VirtualMachineInstances, CustomObjectsApi": lambda token: custom.list_cluster_custom_object(
                    "kubevirt.io", "v1", "virtualmachineinstances", limit=args.limit, _continue=token or None),
                "VirtualMachines, raw HTTPS GET": raw("/apis/kubevirt.io/v1/virtualmachines"),
                "VirtualMachineInstances, raw HTTPS GET": raw("/apis/kubevirt.io/v1/virtualmachineinstances"),
                "Pods (label kubevirt.io=virt-launcher), raw HTTPS GET": raw("/api/v1/pods",
                                                                              "kubevirt.io%3Dvirt-launcher"),
                "Pods (label kubevirt.io=virt-launcher), CoreV1Api typed models": lambda token: {
                    "items": (page := core.list_pod_for_all_namespaces(
                        limit=args.limit, _continue=token or None, label_selector="kubevirt.io=virt-launcher")).items,
                    "metadata": {"continue": page.metadata._continue}},
            }
            rows = []
            for label, fetch in lists.items():
                times = []
                for _ in range(args.runs):
                    objects, pages, seconds = paginate(fetch, args.limit)
                    times.append(seconds)
                rows.append((label, objects, pages, min(times), statistics.median(times)))
        finally:
            api_client.close()
            handle.stop()

    print(f"Machine: {machine()}")
    print(f"Cluster: --flavor {args.flavor} --seed-vms {args.vms} --seed-namespaces {args.namespaces}; "
          f"start to ready (seeding included): {ready:.1f} s; controllers idle {settled:.1f} s later")
    print()
    print(f"| list (limit={args.limit}) | objects | pages | best s | median s | objects/s (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, objects, pages, best, median in rows:
        print(f"| {label} | {objects} | {pages} | {best:.2f} | {median:.2f} | {objects / median:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
