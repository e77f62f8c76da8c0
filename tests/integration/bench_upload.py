# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of virt.kubevirt.datavolume_upload (not a test).

    python tests/integration/bench_upload.py [--sparse-gib 4] [--random-gib 1] [--write-docs]

Starts the local test cluster and, for a sparse image (``truncate``, all zeros) and a random one,
uploads each twice into a fresh upload DataVolume: once with the module (one ansible-playbook
task) and once with a plain streamed POST of the same file to the same proxy with urllib3 (the
floor: what any client must spend). The table gives both throughputs, their ratio (goal >= 0.8)
and the peak RSS of the largest process of the play (the worker that runs the module; goal
<= 150 MiB whatever the size). The module's time is its own ``duration`` (the POST), so
ansible-playbook's start-up is left out. Nothing is asserted; ``--write-docs`` puts the table
into docs/upload-benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from tests.integration.inventory.bench_inventory import build_collection  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
NAMESPACE = "bench"
GIB = 1024 ** 3
# Runs ansible-playbook and prints the peak RSS (KiB) of the largest process of its tree.
PEAK_RSS = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def make_image(path: Path, size: int, sparse: bool) -> None:
    with open(path, "wb") as handle:
        if sparse:
            handle.truncate(size)
            return
        left = size
        while left:
            block = os.urandom(min(left, 8 * 1024 * 1024))
            handle.write(block)
            left -= len(block)


def environment(collections: Path, work: Path) -> Dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "K8S_AUTH_", "VIRT_KUBEVIRT_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_HOME=str(work / "home"),
               ANSIBLE_LOCAL_TEMP=str(work / "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))
    return env


def module_upload(cluster: ClusterHandle, env: Dict[str, str], work: Path, name: str, image: Path, size: int) -> Dict[str, Any]:
    saved = work / ("%s.json" % name)
    task = {"virt.kubevirt.datavolume_upload": {
        "name": name, "namespace": NAMESPACE, "src": str(image), "storage": {"size": str(size + GIB // 4)},
        "kubeconfig": cluster.kubeconfig, "wait_timeout": 3600}, "register": "out"}
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [task, {"ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(saved)}}]}]
    playbook = work / ("%s.yml" % name)
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], env=env, cwd=str(work), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit("module upload failed:\n" + proc.stdout[-3000:])
    result = json.loads(saved.read_text())
    return {"seconds": result["duration"], "rss_kib": int(proc.stderr.strip().splitlines()[-1])}


def _ready_dv(cluster: ClusterHandle, name: str, size: int) -> None:
    body = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": name},
            "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": str(size + GIB // 4)}}}}}
    path = "/apis/cdi.kubevirt.io/v1beta1/namespaces/%s/datavolumes" % NAMESPACE
    assert cluster.http("POST", path, body).status == 201
    for _attempt in range(600):
        dv = cluster.http("GET", "%s/%s" % (path, name)).json()
        if (dv.get("status") or {}).get("phase") == "UploadReady":
            return
        time.sleep(0.1)
    raise SystemExit("DataVolume %s never became UploadReady" % name)


def plain_upload(cluster: ClusterHandle, name: str, image: Path, size: int) -> Dict[str, Any]:
    """The floor: the file object as the body of one POST (urllib3 reads it in blocks)."""
    _ready_dv(cluster, name, size)
    request = {"apiVersion": "upload.cdi.kubevirt.io/v1beta1", "kind": "UploadTokenRequest",
               "metadata": {"name": name}, "spec": {"pvcName": name}}
    token = cluster.http("POST", "/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/%s/uploadtokenrequests" % NAMESPACE,
                         request).json()["status"]["token"]
    pool = urllib3.PoolManager(ca_certs=cluster.ca_file)
    started = time.monotonic()
    with open(image, "rb") as handle:
        response = pool.request("POST", cluster.url + "/v1beta1/upload", body=handle, preload_content=True,
                                headers={"Authorization": "Bearer " + token, "Content-Length": str(size)},
                                timeout=urllib3.Timeout(connect=10, read=3600))
    seconds = time.monotonic() - started
    if response.status != 200:
        raise SystemExit("plain upload answered %s: %s" % (response.status, response.data[:300]))
    return {"seconds": seconds}


def table(rows: List[Dict[str, Any]]) -> str:
    lines = ["Local test cluster on %s, Python %s, %d CPUs." % (platform.platform(), platform.python_version(), os.cpu_count() or 0),
             "", "| image | size | plain POST MiB/s | module MiB/s | ratio | module peak RSS MiB |", "|---|---|---|---|---|---|"]
    for row in rows:
        plain = row["size"] / 2 ** 20 / max(row["plain"]["seconds"], 1e-9)
        module = row["size"] / 2 ** 20 / max(row["module"]["seconds"], 1e-9)
        lines.append("| %s | %.2f GiB | %.0f | %.0f | %.2f | %.0f |" % (
            row["image"], row["size"] / GIB, plain, module, module / plain, row["module"]["rss_kib"] / 1024))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sparse-gib", type=float, default=4.0)
    parser.add_argument("--random-gib", type=float, default=1.0)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        collections = build_collection(work)
        cluster = ClusterHandle(work / "cluster", time_scale=0.05)
        try:
            cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            env = environment(collections, work)
            for kind, gib in (("sparse", args.sparse_gib), ("random", args.random_gib)):
                size = int(gib * GIB)
                image = work / ("%s.img" % kind)
                make_image(image, size, kind == "sparse")
                rows.append({"image": kind, "size": size,
                             "plain": plain_upload(cluster, "plain-%s" % kind, image, size),
                             "module": module_upload(cluster, env, work, "module-%s" % kind, image, size)})
                image.unlink()
        finally:
            cluster.stop()
    report = table(rows)
    print(report)
    if args.write_docs:
        page = REPO / "docs" / "upload-benchmark.md"
        page.write_text("# datavolume_upload benchmark\n\nMade by `python tests/integration/bench_upload.py --write-docs` "
                        "(see its docstring).\n\n" + report, encoding="utf-8")


if __name__ == "__main__":
    main()
