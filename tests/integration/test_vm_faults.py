# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's retries and watch recovery, with faults injected by the local test cluster."""

from __future__ import annotations

import pytest

IMAGE = "quay.io/containerdisks/fedora:41"


@pytest.fixture
def faults(cluster):
    """Set fault rules for one test; always cleared afterwards (the cluster is shared)."""
    yield cluster.set_faults
    cluster.clear_faults()


def _args(namespace, **extra):
    args = {"name": "vm1", "namespace": namespace, "run_strategy": "Always", "memory": "512Mi",
            "disks": [{"name": "root", "container_disk": IMAGE}]}
    args.update(extra)
    return args


def _statuses(run, method, suffix):
    return [r["status"] for r in run.requests if r["method"] == method and r["path"].endswith(suffix)]


def test_server_errors_on_reads_and_applies_are_retried(runner, namespace, faults):
    vm_path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    faults("error=503;times=2;verb=get;path=%s|error=500;times=1;verb=patch;path=%s" % (vm_path, vm_path))
    run = runner.run("vm", _args(namespace))
    assert not run.failed, run
    assert run.changed
    assert _statuses(run, "GET", "/virtualmachines/vm1") == [503, 503, 404]
    assert _statuses(run, "PATCH", "/virtualmachines/vm1")[:2] == [500, 201]


def test_too_many_requests_is_retried_after_the_servers_pause(runner, namespace, faults):
    faults("error=429;times=1;retry-after=1;verb=patch;path=/apis/kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace))
    assert not run.failed, run
    assert _statuses(run, "PATCH", "/virtualmachines/vm1")[:2] == [429, 201]


def test_lifecycle_commands_are_not_repeated_after_a_server_error(runner, namespace, faults):
    assert not runner.run("vm", _args(namespace, wait=True)).failed
    faults("error=503;times=1;method=PUT;path=/apis/subresources.kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace, restart=True))
    assert run.failed
    assert run.msg.startswith("Restart of VirtualMachine %s/vm1 refused: 503" % namespace)
    assert _statuses(run, "PUT", "/restart") == [503]


def test_wait_survives_dropped_watch_streams(runner, namespace, faults):
    faults("drop-watch=1ms;verb=watch;path=/apis/kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace, wait=True, wait_timeout=60))
    assert not run.failed, run
    assert run.result["result"]["status"]["ready"] is True
    verbs = [r["verb"] for r in run.requests]
    first_watch = verbs.index("watch")
    assert "get" in verbs[first_watch + 1:] or "watch" in verbs[first_watch + 1:], run
