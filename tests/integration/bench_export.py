# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of virt.kubevirt.vm_export's download (not a test).

    python tests/integration/bench_export.py [--blank-gib 2] [--random-gib 0.5] [--write-docs]

Starts the local test cluster with a blank DataVolume (served as its whole volume, zeros) and an
uploaded random image, exports each claim, and downloads each volume with the module (one
ansible-playbook task, raw format, sha256 computed on the way) and with a plain streamed GET of the
same external URL with urllib3 into a file (the floor: what any client must spend, no checksum).
Each is run ``--runs`` times (default 3), the two alternating which goes first (so neither always
gets a warm or a cold page cache), and the table gives the median throughputs, their ratio (goal
>= 0.8), the largest peak RSS of the play's processes over the runs (goal <= 150 MiB whatever the
size) and whether each goal is met. The module's time is its own ``download.seconds``, so
ansible-playbook's start-up is left out. The load average before and after is printed with the
table: on a loaded machine the numbers are noisy. Nothing is asserted; ``--write-docs`` puts the
table into docs/export-benchmark.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import urllib3
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.cluster.pytest_plugin import ClusterHandle  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.bench_upload import (  # noqa: E402  pylint: disable=wrong-import-position
    BIN, GIB, NAMESPACE, PEAK_RSS, environment, make_image, plain_upload)
from tests.integration.inventory.bench_inventory import build_collection  # noqa: E402  pylint: disable=wrong-import-position

EXPORTS = "/apis/export.kubevirt.io/v1beta1/namespaces/%s/virtualmachineexports" % NAMESPACE
BLOCK = 1024 * 1024
GOAL_RATIO = 0.8
GOAL_RSS_MIB = 150


def _blank(cluster: ClusterHandle, name: str, size: int) -> None:
    body = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": name},
            "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": str(size)}}}}}
    path = "/apis/cdi.kubevirt.io/v1beta1/namespaces/%s/datavolumes" % NAMESPACE
    assert cluster.http("POST", path, body).status == 201
    _until(lambda: (cluster.http("GET", "%s/%s" % (path, name)).json().get("status") or {}).get("phase") == "Succeeded",
           "DataVolume %s Succeeded" % name)


def _until(check: Any, what: str) -> None:
    for _attempt in range(1200):
        if check():
            return
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)


def _export(cluster: ClusterHandle, claim: str) -> Dict[str, Any]:
    """Export the claim, wait for Ready; the raw URL, the token and the size served."""
    name = "x-" + claim
    body = {"apiVersion": "export.kubevirt.io/v1beta1", "kind": "VirtualMachineExport", "metadata": {"name": name},
            "spec": {"source": {"kind": "PersistentVolumeClaim", "name": claim}}}
    assert cluster.http("POST", EXPORTS, body).status == 201
    _until(lambda: (cluster.http("GET", "%s/%s" % (EXPORTS, name)).json().get("status") or {}).get("phase") == "Ready",
           "export %s Ready" % name)
    status = cluster.http("GET", "%s/%s" % (EXPORTS, name)).json()["status"]
    secret = cluster.http("GET", "/api/v1/namespaces/%s/secrets/%s" % (NAMESPACE, status["tokenSecretRef"])).json()
    url = status["links"]["external"]["volumes"][0]["formats"][0]["url"]
    return {"name": name, "url": url, "token": base64.b64decode(secret["data"]["token"]).decode()}


def plain_get(cluster: ClusterHandle, export: Dict[str, Any], dest: Path) -> Dict[str, Any]:
    pool = urllib3.PoolManager(ca_certs=cluster.ca_file)
    started = time.monotonic()
    response = pool.request("GET", export["url"], headers={"x-kubevirt-export-token": export["token"]},
                            preload_content=False, timeout=urllib3.Timeout(connect=10, read=3600))
    size = 0
    with open(dest, "wb") as handle:
        for block in response.stream(BLOCK):
            handle.write(block)
            size += len(block)
    response.release_conn()
    seconds = time.monotonic() - started
    dest.unlink()
    if response.status != 200:
        raise SystemExit("plain GET answered %s" % response.status)
    return {"seconds": seconds, "size": size}


def module_download(cluster: ClusterHandle, env: Dict[str, str], work: Path, export: Dict[str, Any],
                    claim: str) -> Dict[str, Any]:
    saved, dest = work / ("%s.json" % claim), work / ("%s.img" % claim)
    task = {"virt.kubevirt.vm_export": {
        "name": export["name"], "namespace": NAMESPACE, "source": {"kind": "PersistentVolumeClaim", "name": claim},
        "download": {"dest": str(dest)}, "kubeconfig": cluster.kubeconfig, "wait_timeout": 3600}, "register": "out"}
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [task, {"ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(saved)}}]}]
    playbook = work / ("%s.yml" % claim)
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], env=env, cwd=str(work), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit("module download failed:\n" + proc.stdout[-3000:])
    result = json.loads(saved.read_text())["download"]
    dest.unlink()
    return {"seconds": result["seconds"], "size": result["size"], "rss_kib": int(proc.stderr.strip().splitlines()[-1])}


def _mib_s(run: Dict[str, Any]) -> float:
    return run["size"] / 2 ** 20 / max(run["seconds"], 1e-9)


def _load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def _sha256_mib_s() -> float:
    """sha256 throughput of this CPU: the module hashes every byte it receives, a plain GET none."""
    block, digest = os.urandom(BLOCK), hashlib.sha256()
    started = time.monotonic()
    for _count in range(256):
        digest.update(block)
    return 256 / max(time.monotonic() - started, 1e-9)


def table(rows: List[Dict[str, Any]], runs: int, load_before: str, load_after: str) -> str:
    lines = ["Local test cluster on %s, Python %s, %d CPUs; load average (1, 5, 15 min) %s before the runs, %s after."
             % (platform.platform(), platform.python_version(), os.cpu_count() or 0, load_before, load_after), "",
             "Goals: the module's throughput at least %.1f x a plain streamed GET of the same URL, and its peak RSS at "
             "most %d MiB whatever the size. Medians of %d runs of each, alternating which goes first; RSS is the "
             "largest of the runs. The module computes the sha256 of every byte on the way (%.0f MiB/s on this CPU), a "
             "plain GET none: over loopback at several hundred MiB/s that is a large share of the module's time."
             % (GOAL_RATIO, GOAL_RSS_MIB, runs, _sha256_mib_s()), "",
             "| volume | size | plain GET MiB/s | module MiB/s | ratio (goal >= %.1f) | module peak RSS MiB (goal <= %d) "
             "| goals met |" % (GOAL_RATIO, GOAL_RSS_MIB), "|---|---|---|---|---|---|---|"]
    for row in rows:
        plain = statistics.median(_mib_s(run) for run in row["plain"])
        module = statistics.median(_mib_s(run) for run in row["module"])
        rss = max(run["rss_kib"] for run in row["module"]) / 1024
        met = module / plain >= GOAL_RATIO and rss <= GOAL_RSS_MIB
        lines.append("| %s | %.2f GiB | %.0f | %.0f | %.2f | %.0f | %s |" % (
            row["volume"], row["module"][0]["size"] / GIB, plain, module, module / plain, rss, "yes" if met else "no"))
    lines += ["", "Each run (MiB/s, in the order they ran):", ""]
    for row in rows:
        lines.append("- %s: %s" % (row["volume"], ", ".join(
            "%s %.0f" % (kind, _mib_s(run)) for kind, run in row["order"])))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--blank-gib", type=float, default=2.0)
    parser.add_argument("--random-gib", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        collections = build_collection(work)
        cluster = ClusterHandle(work / "cluster", time_scale=0.05)
        try:
            cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            env = environment(collections, work)
            _blank(cluster, "blank", int(args.blank_gib * GIB))
            image = work / "random.img"
            make_image(image, int(args.random_gib * GIB), sparse=False)
            plain_upload(cluster, "random", image, int(args.random_gib * GIB))
            image.unlink()
            for claim in ("blank", "random"):
                export = _export(cluster, claim)
                row: Dict[str, Any] = {"volume": claim, "plain": [], "module": [], "order": []}
                for run in range(args.runs):
                    kinds = ("plain", "module") if run % 2 == 0 else ("module", "plain")
                    for kind in kinds:
                        done = plain_get(cluster, export, work / "plain.img") if kind == "plain" else \
                            module_download(cluster, env, work, export, claim)
                        row[kind].append(done)
                        row["order"].append((kind, done))
                rows.append(row)
        finally:
            cluster.stop()
    report = table(rows, args.runs, load_before, _load())
    print(report)
    if args.write_docs:
        page = REPO / "docs" / "export-benchmark.md"
        page.write_text("# vm_export download benchmark\n\nMade by `python tests/integration/bench_export.py --write-docs` "
                        "(see its docstring).\n\n" + report, encoding="utf-8")


if __name__ == "__main__":
    main()
