# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the per-task cost of the collection's modules (not a test).

    python tests/integration/bench_task_cost.py [--items 50] [--runs 3] [--write-docs]
                                                [--extra-collections DIR]

Starts the local test cluster, creates one stopped VM with ``virt.kubevirt.vm``, then runs one
play whose tasks each loop ``--items`` times over the same call: ``ansible.builtin.ping``, the
unchanged ``vm`` task (the VM already matches: ``changed: false``, no write), ``vm`` in check
mode, the unchanged ``vm`` task through the kubernetes client (``VIRT_KUBEVIRT_KUBERNETES_CLIENT=1``,
what every task cost before the direct client), and ``vm_info`` of that VM. A loop runs its items one after another in one worker, so the
time between two item results is what one more task of that kind costs in a fleet playbook
(the first item, which pays for loading the module, is left out). The callback in
``bench_callbacks/`` records the times. kubevirt.core's ``kubevirt_vm`` is measured too when it
is found in ``--extra-collections`` (offline, from PyPI: ``pip install --no-deps --target DIR
ansible`` holds kubevirt.core and kubernetes.core; pass ``DIR``).

Each module runs inside the worker on the controller (plugins/plugin_utils/_in_process.py); the
rows "as a module process" set ``virt_kubevirt_in_process: false`` and show the usual AnsiballZ
path. Items of a loop share one worker, so the second table repeats the main calls as
``--items`` separate tasks (a worker each, as the tasks of a fleet playbook), where the cost of a
task is the time between the ends of two consecutive ones.

Per-item time is the median over all items of all runs. The table goes to docs/task-cost-benchmark.md
with ``--write-docs``. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.cluster.pytest_plugin import ClusterHandle  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.inventory.bench_inventory import build_collection  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
CALLBACKS = Path(__file__).resolve().parent / "bench_callbacks"
NAMESPACE = "bench"
VM = {"name": "bench-vm", "namespace": NAMESPACE, "run_strategy": "Halted", "memory": "1Gi",
      "disks": [{"name": "root", "container_disk": "quay.io/containerdisks/fedora:41"}], "wait": False}

CORE_VM = {"name": "bench-core-vm", "namespace": NAMESPACE, "run_strategy": "Halted",
           "spec": {"domain": {"devices": {}, "memory": {"guest": "1Gi"}}}}


def environment(collections: Path, work: Path, kubeconfig: str, output: Path, extra: str = "") -> Dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "K8S_AUTH_", "VIRT_KUBEVIRT_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(filter(None, (str(collections), extra))), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_HOME=str(work / "home"), ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="task_cost_timer", ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        K8S_AUTH_KUBECONFIG=kubeconfig, TASK_COST_TIMER_OUTPUT=str(output),
        PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""),
    )
    return env


def kubevirt_core_installed(env: Dict[str, str]) -> bool:
    listing = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "kubevirt.core"], env=env,
                             capture_output=True, text=True, check=False)
    return "kubevirt.core" in listing.stdout


MODULE_PROCESS = {"virt_kubevirt_in_process": False}
# One task each, repeated as separate tasks: label -> task body.
SEPARATE: Dict[str, Dict[str, Any]] = {
    "ansible.builtin.ping": {"ansible.builtin.ping": {}},
    "virt.kubevirt.vm, unchanged": {"virt.kubevirt.vm": VM},
    "virt.kubevirt.vm, unchanged, as a module process": {"virt.kubevirt.vm": VM, "vars": MODULE_PROCESS},
    "virt.kubevirt.vm_info of one VM": {"virt.kubevirt.vm_info": {"name": VM["name"], "namespace": NAMESPACE}},
}
SEPARATE_MARK = " (task "


def play(items: int, with_kubevirt_core: bool) -> List[Dict[str, Any]]:
    loop = list(range(items))
    tasks: List[Dict[str, Any]] = [
        {"name": "ansible.builtin.ping", "ansible.builtin.ping": {}, "loop": loop},
        {"name": "virt.kubevirt.vm, unchanged", "virt.kubevirt.vm": VM, "loop": loop},
        {"name": "virt.kubevirt.vm, unchanged, as a module process", "virt.kubevirt.vm": VM, "loop": loop, "vars": MODULE_PROCESS},
        {"name": "virt.kubevirt.vm, unchanged, check mode", "virt.kubevirt.vm": VM, "loop": loop, "check_mode": True},
        {"name": "virt.kubevirt.vm, unchanged, through the kubernetes client", "virt.kubevirt.vm": VM, "loop": loop,
         "environment": {"VIRT_KUBEVIRT_KUBERNETES_CLIENT": "1"}},
        {"name": "virt.kubevirt.vm_info of one VM", "virt.kubevirt.vm_info": {"name": VM["name"], "namespace": NAMESPACE},
         "loop": loop},
    ]
    if with_kubevirt_core:
        tasks.append({"name": "kubevirt.core.kubevirt_vm, unchanged", "kubevirt.core.kubevirt_vm": CORE_VM, "loop": loop})
    for label, body in SEPARATE.items():
        tasks.extend(dict(body, name="%s%s%d)" % (label, SEPARATE_MARK, index)) for index in range(items + 1))
    return [{"name": "task cost", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]


def run_play(plays: List[Dict[str, Any]], env: Dict[str, str], work: Path) -> Dict[str, Any]:
    path = work / "play.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(path)], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit("ansible-playbook failed:\n" + result.stdout[-4000:] + result.stderr[-2000:])
    return json.loads(Path(env["TASK_COST_TIMER_OUTPUT"]).read_text())


def per_item_costs(timings: Dict[str, Any]) -> Dict[str, List[float]]:
    """Loop rows: gaps between the items of a task. Separate-task rows: gaps between task ends."""
    costs: Dict[str, List[float]] = {}
    separate: Dict[str, List[float]] = {}
    for task in timings["tasks"]:
        ends = [item["end"] for item in task["items"]]
        statuses = {item["status"] for item in task["items"]}
        if statuses - {"ok"}:
            raise SystemExit("%s: items ended %s; an unchanged task must be ok" % (task["name"], sorted(statuses)))
        if SEPARATE_MARK in task["name"]:
            separate.setdefault(task["name"].split(SEPARATE_MARK)[0] + ", separate tasks", []).extend(ends)
        else:
            costs.setdefault(task["name"], []).extend(b - a for a, b in zip(ends, ends[1:]))
    for label, ends in separate.items():
        costs[label] = [b - a for a, b in zip(ends, ends[1:])]
    return costs


def table(costs: Dict[str, List[float]], requests: Dict[str, float], items: int, runs: int) -> str:
    rows = []
    for kind, suffix in (("loop item", ""), ("separate task", ", separate tasks")):
        ping = statistics.median(costs["ansible.builtin.ping" + suffix])
        rows += ([""] if rows else []) + ["| Task (%s) | Median s | p10-p90 s | vs ping | Requests per item |" % kind, "|---|---:|---:|---:|---:|"]
        for name, values in costs.items():
            if name.endswith(", separate tasks") != bool(suffix):
                continue
            values = sorted(values)
            p10, p90 = values[len(values) // 10], values[(len(values) * 9) // 10]
            median = statistics.median(values)
            base = name[: -len(suffix)] if suffix else name
            rows.append("| `%s` | %.3f | %.3f-%.3f | %.2fx | %s |" % (
                base, median, p10, p90, median / ping, "%.1f" % requests[base] if base in requests else "0"))
    import ansible  # pylint: disable=import-outside-toplevel
    import kubernetes  # pylint: disable=import-outside-toplevel
    return "\n".join(rows) + (
        "\n\n%d items per task, %d runs. Environment: %s, Python %s, ansible-core %s, kubernetes client %s, %d CPUs, "
        "load average at start %s.\n" % (
            items, runs, platform.platform(), platform.python_version(), ansible.__version__, kubernetes.__version__,
            os.cpu_count() or 0, " / ".join("%.2f" % value for value in os.getloadavg())))


def requests_per_item(cluster: ClusterHandle, plays: List[Dict[str, Any]], env: Dict[str, str], work: Path) -> Dict[str, float]:
    """API requests of one item of each task, from the cluster's request log (a separate 1-item run)."""
    counts: Dict[str, float] = {}
    for task in plays[0]["tasks"]:
        if SEPARATE_MARK in task["name"]:
            continue
        single = [dict(plays[0], tasks=[dict(task, loop=[0])])]
        mark = cluster.mark()
        run_play(single, env, work)
        counts[task["name"]] = float(len(cluster.requests(since=mark)))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--extra-collections", default="", help="a collections path holding kubevirt.core")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-task-cost-") as tmp:
        work = Path(tmp)
        collections = build_collection(work)
        cluster = ClusterHandle(work / "cluster", time_scale=0.05)
        try:
            cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            env = environment(collections, work, cluster.kubeconfig, work / "timings.json", args.extra_collections)
            with_core = kubevirt_core_installed(env)
            plays = play(args.items, with_core)
            creates = [{"name": "create", "virt.kubevirt.vm": VM}]
            if with_core:
                creates.append({"name": "create with kubevirt.core", "kubevirt.core.kubevirt_vm": CORE_VM})
            run_play([dict(plays[0], tasks=creates)], env, work)
            costs: Dict[str, List[float]] = {}
            for _run in range(args.runs):
                for name, values in per_item_costs(run_play(plays, env, work)).items():
                    costs.setdefault(name, []).extend(values)
            report = table(costs, requests_per_item(cluster, plays, env, work), args.items, args.runs)
        finally:
            cluster.stop()
    print(report)
    if args.write_docs:
        page = REPO / "docs" / "task-cost-benchmark.md"
        text = page.read_text(encoding="utf-8") if page.exists() else ""
        start, end = "<!-- results -->\n", "<!-- /results -->\n"
        if start in text and end in text:
            text = text[: text.index(start) + len(start)] + report + text[text.index(end):]
        else:
            text += start + report + end
        page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
