# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_info while the local test cluster injects faults: reads are retried within
bounds and give the same answer, waits survive cut watches, and giving up says what failed."""

from __future__ import annotations

import threading

import pytest

IMAGE = "quay.io/containerdisks/fedora:41"
VMS = "/apis/kubevirt.io/v1/virtualmachines"
VMIS = "/apis/kubevirt.io/v1/virtualmachineinstances"


@pytest.fixture(scope="module")
def running(runner, cluster):
    """One running VM, web-1, labelled with its namespace (shared: every test here only reads it)."""
    import uuid

    from kubernetes import client as k8s

    namespace = "info-faults-%s" % uuid.uuid4().hex[:6]
    core = k8s.CoreV1Api(cluster.api_client())
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    run = runner.run("vm", {"name": "web-1", "namespace": namespace, "run_strategy": "Always", "memory": "512Mi",
                            "labels": {"fleet": namespace}, "disks": [{"name": "root", "container_disk": IMAGE}],
                            "wait": True})
    assert not run.failed, run
    yield namespace
    core.delete_namespace(namespace)


@pytest.fixture(scope="module")
def baseline(runner, running):
    run = runner.run("vm_info", {"name": "web-1", "namespace": running})
    assert not run.failed, run
    return run


def vm_path(namespace, name="web-1"):
    return "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/%s" % (namespace, name)


def vmi_path(namespace, name="web-1"):
    return "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances/%s" % (namespace, name)


def statuses(run, path):
    return [r["status"] for r in run.requests if r["path"] == path]


def summary(run):
    return [(vm["metadata"]["name"], vm["vmi"]["phase"], vm["vmi"]["ip_address"]) for vm in run.result["resources"]]


@pytest.mark.parametrize(
    "rule, target, expected, check",
    [
        ("error=503;times=2;retry-after=0", "vm", [503, 503, 200], False),
        ("error=429;times=1;retry-after=1", "vmi", [429, 200], True),
        ("error=500;times=1", "vm", [500, 200], False),
        ("reset=1;times=2", "vmi", [0, 0, 200], True),
        ("reset=1;phase=tls;times=1", "vm", [0, 200], False),
    ],
    ids=["503", "429-retry-after-check-mode", "500", "reset-check-mode", "tls-eof"],
)
def test_reads_by_name_converge(runner, running, baseline, faults, check, rule, target, expected):
    path = vm_path(running) if target == "vm" else vmi_path(running)
    faults("%s;verb=get;path=%s" % (rule, path))
    run = runner.run("vm_info", {"name": "web-1", "namespace": running}, check=check)
    assert not run.failed, run
    assert statuses(run, path) == expected, run
    assert summary(run) == summary(baseline) and summary(run)[0][1] == "Running"
    assert run.writes == [] and not run.changed


@pytest.mark.parametrize(
    "rule, path, expected",
    [
        ("error=503;times=1;retry-after=1", VMS, [503, 200]),
        ("error=502;times=2", VMIS, [502, 502, 200]),
        ("reset=1;times=1", VMS, [0, 200]),
    ],
    ids=["503-retry-after", "502", "reset"],
)
def test_cluster_wide_lists_converge(runner, running, faults, rule, path, expected):
    selector = {"label_selectors": ["fleet=%s" % running]}
    faults("%s;verb=list;path=%s" % (rule, path))
    run = runner.run("vm_info", selector)
    assert not run.failed, run
    assert statuses(run, path) == expected, run
    assert [name for name, phase, ip in summary(run)] == ["web-1"] and summary(run)[0][2]


def test_a_fault_in_one_of_several_namespaces_is_retried(runner, running, faults, fresh_namespace):
    other = fresh_namespace
    faults("error=503;times=1;retry-after=0;verb=list;path=/apis/kubevirt.io/v1/namespaces/%s/" % other)
    run = runner.run("vm_info", {"namespaces": [running, other]})
    assert not run.failed, run
    assert statuses(run, "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines" % other) == [503, 200]
    assert [name for name, phase, ip in summary(run)] == ["web-1"]


@pytest.mark.parametrize(
    "rule, status, tries",
    [
        ("error=503;retry-after=0", "503 ServiceUnavailable", 10),
        ("error=429;retry-after=0", "429 TooManyRequests", 10),
        ("error=500", "500 InternalError", 5),
        ("reset=1", "", 5),
    ],
    ids=["503", "429", "500", "reset"],
)
def test_giving_up_says_which_request_failed_how_and_after_how_many_tries(runner, running, faults, rule, status, tries):
    path = vm_path(running)
    faults("%s;verb=get;path=%s" % (rule, path))
    run = runner.run("vm_info", {"name": "web-1", "namespace": running})
    assert run.failed
    assert status in run.msg and "after %d tries" % tries in run.msg, run.msg
    assert "(request: GET %s)" % path in run.msg, run.msg
    assert len(statuses(run, path)) == tries
    assert "\n" not in run.msg


def test_wait_survives_dropped_and_refused_watches(runner, cluster, namespace, faults):
    from kubernetes import client as k8s

    created = runner.run("vm", {"name": "web-1", "namespace": namespace, "run_strategy": "Halted", "memory": "512Mi",
                                "disks": [{"name": "root", "container_disk": IMAGE}]})
    assert not created.failed, created
    # Watches are cut right after they start, and the first re-watch is answered 503.
    faults("drop-watch=1ms;verb=watch;path=/apis/kubevirt.io/v1/namespaces/%s/|"
           "error=503;times=1;retry-after=0;verb=watch;path=/apis/kubevirt.io/v1/namespaces/%s/" % (namespace, namespace))
    api = k8s.CustomObjectsApi(cluster.api_client())

    def start():
        api.patch_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", "web-1",
                                           {"spec": {"runStrategy": "Always"}})

    timer = threading.Timer(4.0, start)
    timer.start()
    try:
        run = runner.run("vm_info", {"name": "web-1", "namespace": namespace, "wait": True, "wait_timeout": 60,
                                     "wait_condition": {"type": "Ready"}})
    finally:
        timer.cancel()
    assert not run.failed, run
    (vm,) = run.result["resources"]
    assert vm["status"]["ready"] is True and vm["vmi"]["phase"] == "Running"
    watches = [r for r in run.requests if r["verb"] == "watch"]
    assert len(watches) >= 2 and 503 in [r["status"] for r in watches], run
    # The only write is the test's own start.
    assert [(r["method"], r["path"]) for r in run.writes] == [("PATCH", vm_path(namespace))]
