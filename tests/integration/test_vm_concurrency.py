# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two tasks on one VM at the same time: no lost update, one create, a wait that ends on deletion."""

from __future__ import annotations

import json
import threading
import time

IMAGE = "quay.io/containerdisks/fedora:41"


def _args(namespace, **extra):
    args = {"name": "vm1", "namespace": namespace, "run_strategy": "Halted", "memory": "1Gi",
            "disks": [{"name": "root", "container_disk": IMAGE}]}
    args.update(extra)
    return args


def _in_background(fn):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    return thread, box


def _wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_change_made_between_read_and_apply_is_not_lost(runner, namespace, faults, cluster, kube):
    assert not runner.run("vm", _args(namespace)).failed
    path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    # Task A's writes are held back long enough for task B (a PUT here) to get in between.
    faults("latency=2s;method=PATCH;path=%s" % path)
    mark = cluster.mark()
    thread, box = _in_background(lambda: runner.run("vm", {"name": "vm1", "namespace": namespace, "labels": {"team": "a"}}))
    assert _wait_for(lambda: any(r["method"] == "GET" and r["path"] == path for r in cluster.requests(since=mark)))
    live = json.loads(cluster.http("GET", path).body)
    live["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = "2Gi"
    assert cluster.http("PUT", path, live).status == 200
    thread.join(120)
    run = box["value"]
    assert not run.failed, run
    vm = kube.vm(namespace, "vm1")
    assert vm["metadata"]["labels"]["team"] == "a"
    assert vm["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "2Gi"
    assert 409 in [r["status"] for r in run.requests if r["method"] == "PATCH"], run


def test_two_concurrent_creates_make_one_object_and_one_create(runner, namespace, faults, kube):
    path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    # Both tasks read "not found" before either writes.
    faults("latency=1s;method=PATCH;path=%s" % path)
    runs = [_in_background(lambda: runner.run("vm", _args(namespace))) for _attempt in range(2)]
    results = []
    for thread, box in runs:
        thread.join(120)
        results.append(box["value"])
    assert not any(r.failed for r in results), results
    assert sorted(r.result["method"] for r in results) == ["create", "none"], [r.result for r in results]
    assert [r.changed for r in results].count(True) == 1
    assert kube.vm(namespace, "vm1")["metadata"]["generation"] == 1


def test_wait_for_a_vm_someone_deletes_ends_at_once(runner, namespace, cluster):
    path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    # No node matches: the VM never gets ready; someone deletes it meanwhile.
    args = _args(namespace, run_strategy="Always", wait=True, wait_timeout=90, node_selector={"no-such": "node"})
    started = time.monotonic()
    thread, box = _in_background(lambda: runner.run("vm", args))
    assert _wait_for(lambda: cluster.http("GET", path).status == 200, 60)
    time.sleep(1.0)
    assert cluster.http("DELETE", path).status in (200, 202)
    thread.join(120)
    run = box["value"]
    assert run.failed
    assert "was deleted while waiting" in run.msg, run.msg
    assert time.monotonic() - started < 60
