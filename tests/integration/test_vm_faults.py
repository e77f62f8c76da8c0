# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's retries and watch recovery, with faults injected by the local test cluster."""

from __future__ import annotations

IMAGE = "quay.io/containerdisks/fedora:41"


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


def test_lifecycle_command_answered_503_with_retry_after_is_retried_once(runner, namespace, faults, kube):
    assert not runner.run("vm", _args(namespace, wait=True)).failed
    old_uid = kube.vmi(namespace, "vm1")["metadata"]["uid"]
    faults("error=503;times=1;retry-after=1;method=PUT;path=/apis/subresources.kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace, restart=True, wait=True, wait_timeout=60))
    assert not run.failed, run
    assert run.result["restarted"] is True
    # The server said "not now, retry in 1s": exactly one restart was executed.
    assert _statuses(run, "PUT", "/restart") == [503, 202]
    assert kube.vmi(namespace, "vm1")["metadata"]["uid"] != old_uid


def test_lifecycle_commands_are_not_repeated_after_a_bare_server_error(runner, namespace, faults):
    assert not runner.run("vm", _args(namespace, wait=True)).failed
    faults("error=500;times=1;method=PUT;path=/apis/subresources.kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace, restart=True))
    assert run.failed
    assert run.msg.startswith("Restart of VirtualMachine %s/vm1 failed: 500 InternalError" % namespace), run.msg
    assert "refused" not in run.msg
    assert "(request: PUT /apis/subresources.kubevirt.io/v1/namespaces/%s/virtualmachines/vm1/restart)" % namespace in run.msg
    assert _statuses(run, "PUT", "/restart") == [500]


def test_give_up_message_says_what_failed_after_how_many_tries(runner, namespace, faults):
    vm_path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    faults("error=503;retry-after=0;verb=get;path=%s" % vm_path)
    run = runner.run("vm", _args(namespace))
    assert run.failed
    assert "503 ServiceUnavailable" in run.msg and "after 10 tries" in run.msg, run.msg
    assert "(request: GET %s)" % vm_path in run.msg
    assert _statuses(run, "GET", "/virtualmachines/vm1") == [503] * 10


def test_tls_eof_on_idempotent_requests_is_a_dropped_connection_and_retried(runner, namespace, faults, kube):
    # "SSLError: EOF occurred in violation of protocol": a cut connection, not a TLS set-up failure.
    vm_path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    faults("reset=1;phase=tls;times=2;method=GET,PATCH;path=%s" % vm_path)
    run = runner.run("vm", _args(namespace))
    assert not run.failed, run
    assert run.result["method"] == "create"
    assert _statuses(run, "GET", "/virtualmachines/vm1")[:3] == [0, 0, 404]
    assert kube.vm(namespace, "vm1") is not None


def test_connection_resets_on_idempotent_requests_are_retried(runner, namespace, faults, kube):
    vm_path = "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/vm1" % namespace
    faults("reset=1;times=2;method=GET;path=%s" % vm_path)
    run = runner.run("vm", _args(namespace))
    assert not run.failed, run
    assert _statuses(run, "GET", "/virtualmachines/vm1")[:3] == [0, 0, 404]
    assert kube.vm(namespace, "vm1") is not None


def test_stop_start_and_delete_survive_retry_after_answers(runner, namespace, faults, kube):
    assert not runner.run("vm", _args(namespace, wait=True)).failed
    faults("error=429;times=1;retry-after=1;method=PATCH,DELETE;path=/apis/kubevirt.io/v1/namespaces/%s/" % namespace)
    stopped = runner.run("vm", _args(namespace, run_strategy="Halted", wait=True, wait_timeout=60))
    assert not stopped.failed, stopped
    assert kube.vm(namespace, "vm1")["spec"]["runStrategy"] == "Halted"
    faults("error=429;times=1;retry-after=1;method=DELETE;path=/apis/kubevirt.io/v1/namespaces/%s/" % namespace)
    deleted = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent", "wait": True})
    assert not deleted.failed, deleted
    assert _statuses(deleted, "DELETE", "/virtualmachines/vm1") == [429, 200]
    assert kube.vm(namespace, "vm1") is None


def test_wait_survives_dropped_watch_streams(runner, namespace, faults):
    faults("drop-watch=1ms;verb=watch;path=/apis/kubevirt.io/v1/namespaces/%s/" % namespace)
    run = runner.run("vm", _args(namespace, wait=True, wait_timeout=60))
    assert not run.failed, run
    assert run.result["result"]["status"]["ready"] is True
    verbs = [r["verb"] for r in run.requests]
    first_watch = verbs.index("watch")
    assert "get" in verbs[first_watch + 1:] or "watch" in verbs[first_watch + 1:], run


def test_wait_survives_compaction(runner, namespace, faults, cluster, kube):
    import threading
    import time

    timer = threading.Timer(1.5, cluster.compact)
    timer.start()
    try:
        started = time.monotonic()
        run = runner.run("vm", _args(namespace, wait=True, wait_timeout=60))
    finally:
        timer.cancel()
    assert not run.failed, run
    assert run.result["result"]["status"]["ready"] is True
    assert time.monotonic() - started < 40
