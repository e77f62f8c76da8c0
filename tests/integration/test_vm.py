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
    # Omitting labels leaves them alone; labels: {} removes the ones we set.
    kept = runner.run("vm", _vm_args(namespace, memory="2Gi"))
    assert not kept.failed and kept.changed is False, kept
    assert kube.vm(namespace, "vm1")["metadata"]["labels"] == {"team": "a"}
    dropped = runner.run("vm", _vm_args(namespace, memory="2Gi", labels={}))
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


# -- partial tasks: what a task omits stays as it is ---------------------------------------------
def _only(namespace, name="vm1", **options):
    return dict({"name": name, "namespace": namespace}, **options)


def _tspec(vm):
    return vm["spec"]["template"]["spec"]


def _assert_full_vm_kept(vm):
    """The VM _vm_args builds is all there: compute, disks and volumes, cloud-init, networks."""
    spec = _tspec(vm)
    assert spec["domain"]["memory"] == {"guest": "1Gi"}
    assert spec["domain"]["cpu"]["cores"] == 1
    assert [d["name"] for d in spec["domain"]["devices"]["disks"]] == ["root", "cloudinitdisk"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["root"]["containerDisk"]["image"] == IMAGE
    user_data = volumes["cloudinitdisk"]["cloudInitNoCloud"]["userData"]
    assert "user: fedora" in user_data and "ssh-ed25519 AAAAC3Nza test@ci" in user_data
    assert [(i["name"], "masquerade" in i, i["ports"][0]["port"]) for i in spec["domain"]["devices"]["interfaces"]] == [("default", True, 22)]
    assert spec["networks"] == [{"name": "default", "pod": {}}]


def test_partial_run_strategy_task_keeps_the_vm_and_starts_again(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, labels={"app": "web"}, wait=True)).failed
    full = kube.vm(namespace, "vm1")

    stopped = runner.run("vm", _only(namespace, run_strategy="Halted", wait=True), diff=True)
    assert not stopped.failed, stopped
    assert stopped.changed and stopped.result["method"] == "update"
    vm = kube.vm(namespace, "vm1")
    assert vm["spec"]["runStrategy"] == "Halted"
    assert vm["status"]["printableStatus"] == "Stopped"
    _assert_full_vm_kept(vm)
    assert vm["spec"]["template"] == full["spec"]["template"]
    assert vm["metadata"]["labels"] == {"app": "web"}
    diff = stopped.result["diff"]
    assert diff["before"]["spec"]["runStrategy"] == "Always" and diff["after"]["spec"]["runStrategy"] == "Halted"
    assert diff["before"]["spec"]["template"] == diff["after"]["spec"]["template"]

    again = runner.run("vm", _only(namespace, run_strategy="Halted"))
    assert not again.failed, again
    assert again.changed is False
    assert len(again.requests) <= 2, again
    _assert_no_writes(again)

    started = runner.run("vm", _only(namespace, run_strategy="Always", wait=True))
    assert not started.failed, started
    assert started.changed
    assert started.result["result"]["status"]["printableStatus"] == "Running"
    assert started.result["result"]["status"]["ready"] is True
    assert started.result["vmi"]["phase"] == "Running" and started.result["vmi"]["ip_address"]
    _assert_full_vm_kept(kube.vm(namespace, "vm1"))


def test_partial_labels_task_replaces_only_our_labels(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, run_strategy="Halted", labels={"app": "web", "tier": "db"})).failed
    # Another tool adds a label of its own (a merge patch under its own field manager).
    kube.api.patch_namespaced_custom_object(
        "kubevirt.io", "v1", namespace, "virtualmachines", "vm1", {"metadata": {"labels": {"backup": "daily"}}},
        field_manager="backup-operator", _content_type="application/merge-patch+json",
    )

    relabelled = runner.run("vm", _only(namespace, labels={"app": "web", "env": "prod"}))
    assert not relabelled.failed, relabelled
    assert relabelled.changed
    vm = kube.vm(namespace, "vm1")
    assert vm["metadata"]["labels"] == {"app": "web", "env": "prod", "backup": "daily"}
    assert vm["spec"]["runStrategy"] == "Halted"
    _assert_full_vm_kept(vm)

    again = runner.run("vm", _only(namespace, labels={"app": "web", "env": "prod"}))
    assert not again.failed and again.changed is False, again
    assert len(again.requests) <= 2, again
    _assert_no_writes(again)

    emptied = runner.run("vm", _only(namespace, labels={}))
    assert not emptied.failed and emptied.changed, emptied
    assert kube.vm(namespace, "vm1")["metadata"]["labels"] == {"backup": "daily"}


def test_partial_disks_task_is_the_disk_list_but_keeps_cloud_init(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, run_strategy="Halted")).failed
    data = {"name": "data", "container_disk": "quay.io/containerdisks/centos-stream:9"}
    added = runner.run("vm", _only(namespace, disks=[{"name": "root", "container_disk": IMAGE}, data]))
    assert not added.failed, added
    assert added.changed
    spec = _tspec(kube.vm(namespace, "vm1"))
    assert [d["name"] for d in spec["domain"]["devices"]["disks"]] == ["root", "data", "cloudinitdisk"]
    assert [v["name"] for v in spec["volumes"]] == ["root", "data", "cloudinitdisk"]
    assert spec["domain"]["memory"] == {"guest": "1Gi"}

    removed = runner.run("vm", _only(namespace, disks=[{"name": "root", "container_disk": IMAGE}]))
    assert not removed.failed and removed.changed, removed
    _assert_full_vm_kept(kube.vm(namespace, "vm1"))


def test_partial_raw_spec_declares_only_its_fields(runner, namespace, kube):
    assert not runner.run("vm", _vm_args(namespace, run_strategy="Halted")).failed
    raw = {"template": {"spec": {"hostname": "custom", "domain": {"firmware": {"serial": "abc"}}}}}
    run = runner.run("vm", _only(namespace, spec=raw))
    assert not run.failed and run.changed, run
    vm = kube.vm(namespace, "vm1")
    assert _tspec(vm)["hostname"] == "custom" and _tspec(vm)["domain"]["firmware"]["serial"] == "abc"
    _assert_full_vm_kept(vm)
    # A null releases the field; the other one set through spec stays.
    released = runner.run("vm", _only(namespace, spec={"template": {"spec": {"hostname": None}}}))
    assert not released.failed and released.changed, released
    vm = kube.vm(namespace, "vm1")
    assert "hostname" not in _tspec(vm)
    assert _tspec(vm)["domain"]["firmware"]["serial"] == "abc"
    _assert_full_vm_kept(vm)


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
    # A Manual VM that was never started has no VMI (Halted is refused before any request,
    # see test_vm_validation.py).
    assert not runner.run("vm", _vm_args(namespace, run_strategy="Manual", wait=True)).failed
    run = runner.run("vm", _vm_args(namespace, run_strategy="Manual", restart=True))
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
