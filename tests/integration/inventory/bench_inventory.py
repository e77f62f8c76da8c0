# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the ``virt.kubevirt.kubevirt`` inventory against a seeded local cluster (not a test).

    python tests/integration/inventory/bench_inventory.py [--vms 10000] [--namespaces 1000] [--runs 3]

Starts ``python -m tests.cluster --seed-vms N --seed-namespaces M``, then, in the same run and
interleaved so machine load hits every measurement alike:

- the floor: a raw paginated list of VirtualMachines and VirtualMachineInstances (limit 500) with
  the kubernetes client's CustomObjectsApi, in this process;
- ``ansible-inventory --graph`` and ``--list`` with the built collection (cluster-wide lists);
- ``--list`` with ``exclude_host_vars`` (the bulky status variables left out), and with connection
  variables only (every ``vm_*``/``vmi_*`` left out: ansible-core's per-host cost with nothing else);
- ``--list --export``, the command an AAP inventory sync runs, with all and with connection variables;
- ``--list`` answered from the inventory cache;
- once, kubevirt.core's access pattern (namespaces, then VMs, VMIs and Services per namespace,
  serially) with the raw client, for reference.

Wall time is the median of the runs; CPU is the user+sys time of the ansible-inventory process
(the floor's: this process). Requests come from the cluster's request log. The results table goes
to docs/inventory-benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from tests.cluster.pytest_plugin import ClusterHandle  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
LEAN_EXCLUDES = [
    "*_conditions", "*_annotations", "*_resource_version", "vmi_phase_transition_timestamps", "vmi_volume_status",
    "vmi_memory", "vmi_active_pods", "vmi_current_cpu_topology", "vmi_launcher_container_image_version",
    "vmi_selinux_context", "vmi_virtual_machine_revision_name", "vmi_machine", "vmi_migration_*", "vmi_qos_class",
    "vmi_runtime_user", "vmi_vsockcid", "vm_desired_generation", "vm_observed_generation",
]
# Every vm_*/vmi_* variable left out: what remains is ansible_host/ansible_port (and the connection
# for Windows guests) plus kubevirt_cluster, the least any inventory of these hosts can output.
MINIMAL_EXCLUDES = ["vm_*", "vmi_*"]


def build_collection(work: Path) -> Path:
    dist, collections = work / "dist", work / "collections"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist), str(REPO)],
                   check=True, capture_output=True)
    tarball = next(dist.glob("virt-kubevirt-*.tar.gz"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(collections),
                    str(tarball)], check=True, capture_output=True)
    return collections


class Bench:
    def __init__(self, cluster: ClusterHandle, collections: Path, work: Path) -> None:
        self.cluster = cluster
        self.collections = collections
        self.work = work
        self.results: Dict[str, List[Dict[str, Any]]] = {}

    def env(self) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K8S_AUTH_"))}
        env.update(ANSIBLE_COLLECTIONS_PATH=str(self.collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_HOME=str(self.work / "ansible-home"),
                   ANSIBLE_INVENTORY_ENABLED="virt.kubevirt.kubevirt", ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
        return env

    def source(self, name: str, **extra: Any) -> Path:
        lines = ["plugin: virt.kubevirt.kubevirt", "kubeconfig: %s" % self.cluster.kubeconfig, "context: local"]
        lines += ["%s: %s" % (key, value) for key, value in extra.items()]
        path = self.work / ("%s.kubevirt.yml" % name)
        path.write_text("\n".join(lines) + "\n")
        return path

    def record(self, label: str, fn: Callable[[], Tuple[float, int]]) -> None:
        mark = self.cluster.mark()
        start = time.perf_counter()
        cpu, hosts = fn()
        wall = time.perf_counter() - start
        requests = len(self.cluster.requests(since=mark))
        self.results.setdefault(label, []).append({"wall": wall, "cpu": cpu, "requests": requests, "hosts": hosts})
        print("%-48s %7.2f s wall %7.2f s cpu %6d requests %6d hosts" % (label, wall, cpu, requests, hosts), flush=True)

    def inventory(self, source: Any, *args: str, plugins: str = "virt.kubevirt.kubevirt") -> Tuple[float, int]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = self.work / "out.txt"
        env = dict(self.env(), ANSIBLE_INVENTORY_ENABLED=plugins)
        with open(out, "wb") as handle:
            proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), *args], stdout=handle,
                                  stderr=subprocess.PIPE, env=env, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit("ansible-inventory failed: %s" % proc.stderr.decode(errors="replace")[-2000:])
        text = out.read_text()
        if "--list" in args:
            hosts = text.count('"ansible_host"')
        else:
            hosts = len({line.split("|--", 1)[1] for line in text.splitlines() if "|--" in line and "|--@" not in line})
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), hosts

    def phases(self, source: Path) -> Dict[str, float]:
        """One ``--list`` run in a child process with per-step timers (see run_phases)."""
        timings = self.work / "phases.json"
        start = time.perf_counter()
        with open(self.work / "out-phases.txt", "wb") as handle:
            subprocess.run([sys.executable, __file__, "--phases", str(source), str(timings)], stdout=handle,
                           stderr=subprocess.PIPE, env=self.env(), check=True)
        result = json.loads(timings.read_text())
        result["wall"] = time.perf_counter() - start
        print("phases: %s" % ", ".join("%s %.2f" % item for item in sorted(result.items())), flush=True)
        return result

    def floor(self) -> Tuple[float, int]:
        before = resource.getrusage(resource.RUSAGE_SELF)
        count = raw_list(self.cluster.kubeconfig)
        after = resource.getrusage(resource.RUSAGE_SELF)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), count

    def floor_process(self) -> Tuple[float, int]:
        """The floor as its own process: interpreter start and client import included, as a CLI pays."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, __file__, "--floor-only", self.cluster.kubeconfig],
                              capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), int(proc.stdout)

    def per_namespace(self) -> Tuple[float, int]:
        """kubevirt.core 2.x: namespaces (projects), then three lists per namespace, one after another."""
        from kubernetes import client as k8s

        before = resource.getrusage(resource.RUSAGE_SELF)
        api_client = self.cluster.api_client()
        custom, core = k8s.CustomObjectsApi(api_client), k8s.CoreV1Api(api_client)
        running = 0
        namespaces = custom.list_cluster_custom_object("project.openshift.io", "v1", "projects")["items"]
        for item in namespaces:
            ns = item["metadata"]["name"]
            custom.list_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines")
            vmis = custom.list_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachineinstances")["items"]
            running += len(vmis)
            if vmis:
                core.list_namespaced_service(ns)
        after = resource.getrusage(resource.RUSAGE_SELF)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), running


def raw_list(kubeconfig: str) -> int:
    """VMs then VMIs, 500 a page, with the kubernetes client's CustomObjectsApi; returns the VMI count."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    api = k8s.CustomObjectsApi(k8s_config.new_client_from_config(config_file=kubeconfig, context="local"))
    count = 0
    for plural in ("virtualmachines", "virtualmachineinstances"):
        token = None
        while True:
            page = api.list_cluster_custom_object("kubevirt.io", "v1", plural, limit=500, _continue=token)
            count += len(page["items"]) if plural == "virtualmachineinstances" else 0
            token = page["metadata"].get("continue")
            if not token:
                break
    return count


def run_phases(source: str, timings_path: str) -> None:
    """``--phases``: ``ansible-inventory --list`` in this process with timers around its steps.

    Wraps, without changing them, ansible-core's InventoryManager.parse_sources (the plugin's whole
    parse), InventoryCLI._get_host_variables (VariableManager.get_vars per host), InventoryCLI.dump
    (json.dumps with the inventory encoder) and, inside it, the trust visitor that marks untrusted
    strings. Then times, on the same structure the CLI encoded, the stdlib's pure-Python encoder
    (same sort_keys/indent, no unsafe markers) and its C encoder (compact): what the output step
    would cost without ansible-core's profile.
    """
    import json

    from ansible._internal._json._profiles import _legacy
    from ansible.cli import inventory as inventory_cli
    from ansible.inventory.manager import InventoryManager

    started = time.perf_counter()
    times: Dict[str, float] = {}
    captured: List[Any] = []

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - begin
        return wrapper

    dump = inventory_cli.InventoryCLI.dump

    def capturing_dump(stuff: Any) -> Any:
        captured.append(stuff)
        return dump(stuff)

    InventoryManager.parse_sources = timed("parse", InventoryManager.parse_sources)
    inventory_cli.InventoryCLI._get_host_variables = timed("host_vars", inventory_cli.InventoryCLI._get_host_variables)
    inventory_cli.InventoryCLI.dump = staticmethod(timed("encode", capturing_dump))
    _legacy._Profile.pre_serialize = classmethod(timed("encode_visitor", _legacy._Profile.pre_serialize.__func__))
    try:
        inventory_cli.main(["ansible-inventory", "-i", source, "--list"])
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    times["in_process"] = time.perf_counter() - started
    for name, encode in (("stdlib_indent", lambda: json.dumps(captured[0], sort_keys=True, indent=4)),
                         ("stdlib_c", lambda: json.dumps(captured[0]))):
        begin = time.perf_counter()
        encode()
        times[name] = time.perf_counter() - begin
    Path(timings_path).write_text(json.dumps(times))


def summarize(results: Dict[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    floor = statistics.median(r["wall"] for r in results["floor"])
    rows = []
    for label, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        rows.append({
            "label": label, "wall": wall, "cpu": statistics.median(r["cpu"] for r in runs),
            "requests": max(r["requests"] for r in runs), "hosts": runs[-1]["hosts"], "ratio": wall / floor,
            "runs": len(runs), "min": min(r["wall"] for r in runs), "max": max(r["wall"] for r in runs),
        })
    return rows


DESCRIPTIONS = {
    "floor": "Floor: raw paginated list of VMs + VMIs (kubernetes client, limit 500, in-process)",
    "floor-process": "Floor as a process (`python` + client import + the same lists)",
    "startup": "`ansible-inventory --graph -i localhost,` (process start-up only)",
    "graph": "`ansible-inventory --graph` (fetch + build the inventory)",
    "list": "`ansible-inventory --list` (all kubevirt.core host vars)",
    "list-lean": "`ansible-inventory --list` with `exclude_host_vars` (bulky status vars left out)",
    "list-minimal": "`ansible-inventory --list` with `exclude_host_vars: [vm_*, vmi_*]` (connection vars only)",
    "export": "`ansible-inventory --list --export` (what an AAP inventory sync runs), all host vars",
    "export-minimal": "`ansible-inventory --list --export`, connection vars only",
    "list-cached": "`ansible-inventory --list` from the inventory cache",
    "graph-cached": "`ansible-inventory --graph` from the inventory cache",
    "per-namespace": "Reference: kubevirt.core's pattern (per-namespace lists, serial, raw client)",
}


PHASE_ROWS = (
    ("parse", "`parse_sources`: the plugin's fetch (cluster requests) and building of hosts and groups"),
    ("host_vars", "ansible-core: `VariableManager.get_vars` for every host"),
    ("encode_visitor", "ansible-core output: trust visitor copying the result, marking untrusted strings"),
    ("encode_rest", "ansible-core output: pure-Python JSON encoder (`indent=4`, `sort_keys`)"),
    ("other", "Rest of the process after start-up: CLI set-up, plugin loading, group listing"),
    ("in_process", "Total in the process (start-up of the interpreter not included)"),
)


def summarize_phases(phases: List[Dict[str, float]]) -> Dict[str, float]:
    for run in phases:
        run["encode_rest"] = run["encode"] - run["encode_visitor"]
        run["other"] = run["in_process"] - run["parse"] - run["host_vars"] - run["encode"]
    return {key: statistics.median(run[key] for run in phases) for key in phases[0]}


def write_report(path: Path, rows: List[Dict[str, Any]], phases: Dict[str, float], minimal: Dict[str, float],
                 args: argparse.Namespace, load: Tuple[float, ...]) -> None:
    import ansible
    import kubernetes

    ratio = {row["label"]: row["ratio"] for row in rows}
    wall = {row["label"]: row["wall"] for row in rows}
    hosts = {row["label"]: row["hosts"] for row in rows}
    floor = wall["floor"]
    core_output = phases["host_vars"] + phases["encode"]
    per_host_us = 1e6 * minimal["host_vars"] / max(1, hosts["graph"])

    lines = [
        "# Inventory benchmark",
        "",
        "Generated by `python tests/integration/inventory/bench_inventory.py --vms %d --namespaces %d --runs %d`"
        % (args.vms, args.namespaces, args.runs),
        "against the local test cluster seeded with %d VMs in %d namespaces (about 80%% running; the"
        % (args.vms, args.namespaces),
        "cluster runs on the same machine). Wall time is the median of the runs (min-max in brackets),",
        "CPU the user+sys time of the measured process. Requests are counted in the cluster's request log.",
        "",
        "| Measurement | Wall s (median) | Range s | CPU s | Requests | Hosts | Wall / floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append("| %s | %.2f | %.2f-%.2f | %.2f | %d | %d | %.2fx |" % (
            DESCRIPTIONS.get(row["label"], row["label"]), row["wall"], row["min"], row["max"], row["cpu"],
            row["requests"], row["hosts"], row["ratio"]))
    lines += [
        "",
        "Hosts: running VMs (the floor column counts VMIs). Environment: %s, Python %s, ansible-core %s,"
        % (platform.platform(terse=True), platform.python_version(), ansible.__version__),
        "kubernetes client %s, %d CPUs, load average at start %.2f / %.2f / %.2f."
        % ((kubernetes.__version__, os.cpu_count() or 0) + tuple(load)),
        "",
        "## Where `--list` spends its time",
        "",
        "The same `ansible-inventory --list` run in a process with timers around ansible-core's steps",
        "(`--phases`, nothing else changed), median of %d runs, with all host variables and with" % args.runs,
        "connection variables only (`exclude_host_vars: [vm_*, vmi_*]`):",
        "",
        "| Step | All host vars, s | Share | Connection vars only, s |",
        "|---|---:|---:|---:|",
    ]
    for key, label in PHASE_ROWS:
        lines.append("| %s | %.2f | %.0f%% | %.2f |" % (
            label, phases[key], 100.0 * phases[key] / phases["in_process"], minimal[key]))
    lines += [
        "",
        "Encoding the same structure (what ansible-core's CLI passed to its encoder) another way:",
        "the stdlib's pure-Python encoder with the same `indent=4`/`sort_keys` but no `__ansible_unsafe`",
        "markers took %.2f s, the stdlib's C encoder (compact) %.2f s, against %.2f s for ansible-core's."
        % (phases["stdlib_indent"], phases["stdlib_c"], phases["encode"]),
        "",
        "## Reading the numbers",
        "",
        "- Goal, within 1.5x of the floor: `--graph` (fetch and build the whole inventory, what a playbook",
        "  pays) is %.2fx the in-process floor and %.2fx the floor run as a process."
        % (ratio["graph"], ratio["graph"] / ratio["floor-process"]),
        "- `--list` with kubevirt.core's host variables is %.2fx, and `--list --export` (the command an AAP"
        % ratio["list"],
        "  inventory sync runs) %.2fx: neither reaches 1.5x, and no inventory plugin exposing these" % ratio["export"],
        "  variables can on ansible-core %s. ansible-core's own output step, per-host `get_vars` plus the"
        % ansible.__version__,
        "  JSON encoding, takes %.2f s alone (table above), %.2fx the floor before a single request is sent."
        % (core_output, core_output / floor),
        "  The encoding is ansible-core's inventory profile: a visitor copies the whole result to mark every",
        "  untrusted string, and each string is written as an `{\"__ansible_unsafe\": ...}` object by the",
        "  pure-Python encoder. Its cost follows the number of values in the host variables, which are",
        "  kubevirt.core's (`vm_*` / `vmi_*`: the VM and VMI metadata and whole status); they must stay",
        "  untrusted, and trusting values to skip the markers would reopen template injection (AAP reads",
        "  this output back).",
        "- With connection variables only, `--list` is %.2fx and `--list --export` %.2fx. What is left"
        % (ratio["list-minimal"], ratio["export-minimal"]),
        "  above the fetch is ansible-core's per-host cost: in `--list`, `get_vars` alone takes %.0f us a host"
        % per_host_us,
        "  (%.2f s for %d hosts) whatever the plugin sets. `exclude_host_vars` is therefore the lever for"
        % (minimal["host_vars"], hosts["graph"]),
        "  large fleets (%.2fx with only the bulky status variables left out): hosts keep the variables"
        % ratio["list-lean"],
        "  plays read, while `compose`, `groups` and `keyed_groups` still see the left-out ones, so",
        "  kubevirt.core-style expressions keep working.",
        "- What the plugin controls is in `parse` above: the fetch (the floor's requests) plus building about",
        "  %d hosts and their groups. It pauses Python's cyclic garbage collector while it decodes and"
        % hosts["graph"],
        "  builds, then freezes the result, so full collections do not walk millions of long-lived objects",
        "  again and again (in parse and in ansible-core's output step), and it loads the kubernetes client",
        "  only when it sends requests.",
        "- The plugin reads each resource type with one cluster-wide paginated list, so its request count is",
        "  the floor's (plus one Services list) whatever the number of namespaces; kubevirt.core's pattern",
        "  sends three requests per namespace.",
        "- A cache hit sends no request at all; the cache holds the objects as one compact JSON string, so",
        "  ansible-core's cache layer does not visit every value when it writes and reads them.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--collections-path", help="an installed collections path (default: build one)")
    parser.add_argument("--skip-per-namespace", action="store_true", help="skip the kubevirt.core-pattern reference")
    parser.add_argument("--output", default=str(REPO / "docs" / "inventory-benchmark.md"))
    parser.add_argument("--floor-only", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--phases", nargs=2, metavar=("SOURCE", "TIMINGS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_only:
        print(raw_list(args.floor_only))
        return
    if args.phases:
        run_phases(*args.phases)
        return

    work = Path(tempfile.mkdtemp(prefix="virt-kubevirt-bench-"))
    collections = Path(args.collections_path) if args.collections_path else build_collection(work)
    load = os.getloadavg()
    print("starting the cluster with %d VMs in %d namespaces..." % (args.vms, args.namespaces), flush=True)
    cluster = ClusterHandle(work / "cluster", ["--seed-vms", str(args.vms), "--seed-namespaces", str(args.namespaces)])
    try:
        bench = Bench(cluster, collections, work)
        plain = bench.source("plain")
        lean = bench.source("lean", exclude_host_vars=LEAN_EXCLUDES)
        minimal = bench.source("minimal", exclude_host_vars=MINIMAL_EXCLUDES)
        cached = bench.source("cached", cache="true", cache_plugin="ansible.builtin.jsonfile",
                              cache_connection=str(work / "cache"), cache_timeout=3600)
        bench.inventory(cached, "--graph")  # fills the cache (and warms the page cache)
        phases: List[Dict[str, float]] = []
        phases_minimal: List[Dict[str, float]] = []
        for dummy in range(args.runs):
            bench.record("floor", bench.floor)
            bench.record("floor-process", bench.floor_process)
            bench.record("startup", lambda: bench.inventory("localhost,", "--graph", plugins="host_list"))
            bench.record("graph", lambda: bench.inventory(plain, "--graph"))
            bench.record("list", lambda: bench.inventory(plain, "--list"))
            bench.record("list-lean", lambda: bench.inventory(lean, "--list"))
            bench.record("list-minimal", lambda: bench.inventory(minimal, "--list"))
            bench.record("export", lambda: bench.inventory(plain, "--list", "--export"))
            bench.record("export-minimal", lambda: bench.inventory(minimal, "--list", "--export"))
            bench.record("list-cached", lambda: bench.inventory(cached, "--list"))
            bench.record("graph-cached", lambda: bench.inventory(cached, "--graph"))
            phases.append(bench.phases(plain))
            phases_minimal.append(bench.phases(minimal))
        if not args.skip_per_namespace:
            bench.record("per-namespace", bench.per_namespace)
        rows = summarize(bench.results)
    finally:
        cluster.stop()
    write_report(Path(args.output), rows, summarize_phases(phases), summarize_phases(phases_minimal), args, load)
    print("wrote %s" % args.output)


if __name__ == "__main__":
    main()
