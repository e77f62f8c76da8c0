# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm against the local test cluster: lifecycle, idempotence, check mode, failures."""

from __future__ import annotations

IMAGE = "quay.io/containerdisks/fedora:41"


def _vm_args(namespace, name="vm1", **extra):
    args = {
        "name": name,
        "namespace": namespace,
        "run_strategy": "Always",
        "memory": "1Gi",
        "cpu": {"cores": 1},
        "disks": [{"name": "root", "container_disk": IMAGE}],
        "networks": [{"name": "default", "ports": [{"port": 22}]}],
        "cloud_init": {"user_data": "#cloud-config\nuser: fedora\n", "ssh_authorized_keys": ["ssh-ed25519 AAAAC3Nza test@ci"]},
    }
    args.update(extra)
    return args


def _assert_no_writes(run):
    assert run.writes == [], run


def test_check_mode_creates_nothing(runner, namespace, kube):
    run = runner.run("vm", _vm_args(namespace), check=True, diff=True)
    assert not run.failed, run
    assert run.changed
    _assert_no_writes(run)
    assert any(r["write"] and r["dry_run"] for r in run.requests), "check mode should still validate with a dry run"
    assert run.result["diff"]["before"] == {}
    assert run.result["diff"]["after"]["spec"]["runStrategy"] == "Always"
    assert kube.vm(namespace, "vm1") is None


def test_no_discovery_requests(runner, namespace):
    run = runner.run("vm", _vm_args(namespace))
    assert not run.failed, run
    assert not [r for r in run.requests if r["path"] in ("/api", "/apis", "/version") or r["verb"] == "proxy"], run


def test_create_wait_and_idempotent_rerun(runner, namespace, kube):
    created = runner.run("vm", _vm_args(namespace, wait=True))
    assert not created.failed, created
    assert created.changed and created.result["method"] == "create"
    vm = kube.vm(namespace, "vm1")
    assert vm["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "1Gi"
    assert vm["status"]["ready"] is True
    vmi = created.result["vmi"]
    assert vmi["phase"] == "Running" and vmi["node"] and vmi["ip_address"]
    assert [m["manager"] for m in vm["metadata"]["managedFields"] if m["operation"] == "Apply"] == ["virt.kubevirt"]

    again = runner.run("vm", _vm_args(namespace, wait=True))
    assert not again.failed, again
    assert again.changed is False
    assert len(again.requests) <= 2, again
    assert [r["verb"] for r in again.requests] == ["get", "get"]
    _assert_no_writes(again)
    assert again.result["vmi"]["ip_address"] == vmi["ip_address"]


def test_update_shows_a_diff(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace)).failed
    run = runner.run("vm", _vm_args(namespace, memory="2Gi", labels={"team": "a"}), diff=True)
    assert not run.failed, run
    assert run.changed and run.result["method"] == "update"
    before, after = run.result["diff"]["before"], run.result["diff"]["after"]
    assert before["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "1Gi"}
    assert after["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "2Gi"}
    assert after["metadata"]["labels"] == {"team": "a"}
    for noisy in ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"):
        assert noisy not in after["metadata"]
    assert "status" not in after
    assert kube.vm(namespace, "vm1")["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "2Gi"
    # Dropping the label we set removes it (server-side apply ownership).
    dropped = runner.run("vm", _vm_args(namespace, memory="2Gi"))
    assert dropped.changed, dropped
    assert "team" not in (kube.vm(namespace, "vm1")["metadata"].get("labels") or {})


def test_run_strategy_is_the_power_state(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, wait=True)).failed
    stopped = runner.run("vm", _vm_args(namespace, run_strategy="Halted", wait=True))
    assert not stopped.failed, stopped
    assert stopped.changed
    assert stopped.result["result"]["status"]["printableStatus"] == "Stopped"
    # KubeVirt reports Stopped once the VMI is gone or has finished; a finished one may linger.
    assert stopped.result["vmi"] is None or stopped.result["vmi"]["phase"] in ("Succeeded", "Failed")
    assert kube.vm(namespace, "vm1")["spec"]["runStrategy"] == "Halted"
    started = runner.run("vm", _vm_args(namespace, run_strategy="Always", wait=True))
    assert not started.failed, started
    assert started.result["result"]["status"]["ready"] is True
    assert started.result["vmi"]["phase"] == "Running"


def test_restart_replaces_the_vmi(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, wait=True)).failed
    old_uid = kube.vmi(namespace, "vm1")["metadata"]["uid"]
    run = runner.run("vm", _vm_args(namespace, restart=True, wait=True))
    assert not run.failed, run
    assert run.changed and run.result["restarted"]
    restart_calls = [r for r in run.requests if r["path"].endswith("/virtualmachines/vm1/restart")]
    assert [(r["method"], r["status"]) for r in restart_calls] == [("PUT", 202)]
    assert run.result["vmi"]["uid"] != old_uid
    assert run.result["vmi"]["phase"] == "Running"
    assert kube.vmi(namespace, "vm1")["metadata"]["uid"] != old_uid


def test_restart_refused_by_kubevirt_fails_with_its_message(runner, namespace):
    assert not runner.run("vm", _vm_args(namespace, run_strategy="Halted", wait=True)).failed
    run = runner.run("vm", _vm_args(namespace, run_strategy="Halted", restart=True))
    assert run.failed, run
    assert "Restart of VirtualMachine %s/vm1 refused" % namespace in run.msg
    assert "Halted does not support manual restart requests" in run.msg or "not running" in run.msg


def test_delete_then_absent_again(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, wait=True)).failed
    deleted = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent", "wait": True}, diff=True)
    assert not deleted.failed, deleted
    assert deleted.changed and deleted.result["method"] == "delete"
    assert deleted.result["diff"]["after"] == {}
    assert kube.vm(namespace, "vm1") is None
    again = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent"})
    assert not again.failed and again.changed is False
    assert [r["verb"] for r in again.requests] == ["get"]


def test_delete_of_owned_data_volumes_needs_force(runner, namespace, kube):
    args = _vm_args(namespace, run_strategy="Halted", disks=[
        {"name": "root", "data_volume": {"registry": "docker://" + IMAGE, "size": "5Gi"}},
    ])
    created = runner.run("vm", args)
    assert not created.failed, created
    refused = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent"})
    assert refused.failed
    assert "set force: true" in refused.msg and "vm1-root" in refused.msg
    _assert_no_writes(refused)
    assert kube.vm(namespace, "vm1") is not None
    forced = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent", "force": True, "wait": True})
    assert not forced.failed, forced
    assert kube.vm(namespace, "vm1") is None


# -- failures: each is clear and writes nothing ------------------------------------------------
def test_bad_token_is_401(runner, namespace):
    run = runner.run("vm", _vm_args(namespace, api_key="not-a-valid-token"))
    assert run.failed
    assert "401" in run.msg and "Unauthorized" in run.msg
    assert "check api_key, kubeconfig and context" in run.msg
    _assert_no_writes(run)
    assert "not-a-valid-token" not in run.output


def test_forbidden_namespace_is_403(runner, namespace):
    run = runner.run("vm", _vm_args(namespace), context="restricted")
    assert run.failed
    assert "403" in run.msg and "forbidden" in run.msg.lower()
    assert namespace in run.msg
    _assert_no_writes(run)


def test_restricted_user_works_in_its_namespace(runner, cluster):
    allowed = cluster.restricted_namespaces[0]
    run = runner.run("vm", _vm_args(allowed, name="restricted-vm", run_strategy="Halted"), context="restricted")
    assert not run.failed, run
    assert all(r["user"] == "restricted" for r in run.requests)
    assert not runner.run("vm", {"name": "restricted-vm", "namespace": allowed, "state": "absent"}, context="restricted").failed


def test_invalid_memory_quantity_sends_nothing(runner, namespace):
    run = runner.run("vm", _vm_args(namespace, memory="2GB"))
    assert run.failed
    assert run.msg.startswith("memory: '2GB' is not a valid Kubernetes quantity")
    assert run.requests == []


def test_unknown_field_in_spec_is_rejected_by_strict_validation(runner, namespace, kube):
    run = runner.run("vm", _vm_args(namespace, spec={"template": {"spec": {"notAField": True}}}))
    assert run.failed
    # A real API server answers a server-side apply with an unknown field with this 500.
    assert "spec.template.spec.notAField" in run.msg
    assert "unknown field" in run.msg or "not part of the resource's schema" in run.msg
    _assert_no_writes(run)
    assert len([r for r in run.requests if r["write"]]) == 1, "a schema error is not retried"
    assert any(r.get("query", "").find("fieldValidation=Strict") >= 0 for r in run.requests if r["write"])
    assert kube.vm(namespace, "vm1") is None


def test_missing_instancetype_fails_clearly(runner, namespace, kube):
    args = _vm_args(namespace, instancetype={"name": "no-such-type"})
    del args["memory"], args["cpu"]
    run = runner.run("vm", args)
    assert run.failed
    assert "no-such-type" in run.msg
    _assert_no_writes(run)
    assert kube.vm(namespace, "vm1") is None


def test_timeout_reports_status_conditions_and_events(runner, namespace):
    run = runner.run("vm", _vm_args(namespace, node_selector={"kubernetes.io/hostname": "no-such-node"}, wait=True, wait_timeout=3))
    assert run.failed
    assert run.msg.startswith("Timed out after 3s waiting for VirtualMachine %s/vm1 to be ready" % namespace)
    assert "Last state: printableStatus" in run.msg
    assert "conditions" in run.msg
    assert "Recent events:" in run.msg
