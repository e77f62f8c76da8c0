# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

from ansible_collections.virt.kubevirt.plugins.modules import vm as vm_module

VM = "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"
VMI = "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm1"
RESTART = "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/restart"

ARGS = {
    "name": "vm1",
    "namespace": "ns",
    "run_strategy": "Always",
    "memory": "1Gi",
    "disks": [{"name": "root", "container_disk": "quay.io/containerdisks/fedora:41"}],
}


def _calls(api_server):
    return [(r.method, r.path) for r in api_server.requests]


def test_create_applies_and_reads_the_vmi(run_module, api_server):
    result, failed = run_module(vm_module.main, ARGS)
    assert not failed, result
    assert result["changed"] is True and result["method"] == "create"
    assert _calls(api_server) == [("GET", VM), ("PATCH", VM), ("PATCH", VM), ("GET", VMI)]
    preview, apply = api_server.requests[1:3]
    assert preview.query == {"dryRun": "All", "fieldManager": "virt.kubevirt", "fieldValidation": "Strict", "force": "true"}
    assert apply.query == {"fieldManager": "virt.kubevirt", "fieldValidation": "Strict", "force": "true"}
    assert result["result"]["spec"]["runStrategy"] == "Always"
    assert result["vmi"] is None
    assert api_server.objects[VM]["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "1Gi"}


def test_unchanged_rerun_is_two_gets_and_no_change(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.put(VMI, {
        "metadata": {"name": "vm1", "namespace": "ns"},
        "status": {"phase": "Running", "nodeName": "node01", "interfaces": [{"ipAddress": "10.0.0.9"}]},
    })
    api_server.requests.clear()
    result, failed = run_module(vm_module.main, ARGS)
    assert not failed
    assert result["changed"] is False and result["method"] == "none"
    assert _calls(api_server) == [("GET", VM), ("GET", VMI)]
    assert result["vmi"]["ip_address"] == "10.0.0.9"
    assert "diff" not in result


def test_server_defaults_do_not_count_as_changes(run_module, api_server):
    run_module(vm_module.main, ARGS)
    live = api_server.objects[VM]
    live["spec"]["template"]["spec"]["domain"]["machine"] = {"type": "q35"}
    live["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["disk"] = {"bus": "virtio"}
    api_server.requests.clear()
    result = run_module(vm_module.main, ARGS)[0]
    assert result["changed"] is False


def test_update_with_diff(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.requests.clear()
    result, failed = run_module(vm_module.main, dict(ARGS, memory="2Gi", labels={"app": "web"}), diff=True)
    assert not failed
    assert result["changed"] is True and result["method"] == "update"
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "1Gi"}
    assert after["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "2Gi"}
    assert after["metadata"]["labels"] == {"app": "web"}
    assert "managedFields" not in after["metadata"] and "resourceVersion" not in after["metadata"] and "status" not in after


def test_dropping_an_owned_label_is_a_change(run_module, api_server):
    run_module(vm_module.main, dict(ARGS, labels={"app": "web", "tier": "db"}))
    result = run_module(vm_module.main, dict(ARGS, labels={"app": "web"}))[0]
    assert result["changed"] is True


def test_partial_task_keeps_the_options_it_omits(run_module, api_server):
    run_module(vm_module.main, dict(ARGS, labels={"app": "web"}))
    stop = {"name": "vm1", "namespace": "ns", "run_strategy": "Halted"}
    result, failed = run_module(vm_module.main, stop)
    assert not failed and result["changed"] is True
    vm = api_server.objects[VM]
    assert vm["spec"]["runStrategy"] == "Halted"
    assert vm["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "1Gi"}
    assert vm["spec"]["template"]["spec"]["volumes"] == [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}]
    assert vm["metadata"]["labels"] == {"app": "web"}
    api_server.requests.clear()
    again = run_module(vm_module.main, stop)[0]
    assert again["changed"] is False
    assert _calls(api_server) == [("GET", VM), ("GET", VMI)]


def test_check_mode_create_is_a_dry_run(run_module, api_server):
    result, failed = run_module(vm_module.main, ARGS, check_mode=True, diff=True)
    assert not failed
    assert result["changed"] is True
    assert api_server.writes == []
    assert [r.query.get("dryRun") for r in api_server.requests if r.write] == ["All"]
    assert VM not in api_server.objects
    assert _calls(api_server) == [("GET", VM), ("PATCH", VM)]  # no VMI to read for a VM that does not exist
    assert result["diff"]["before"] == {} and result["diff"]["after"]["metadata"]["name"] == "vm1"


def test_invalid_memory_fails_before_any_request(run_module, api_server):
    result, failed = run_module(vm_module.main, dict(ARGS, memory="2GB"))
    assert failed
    assert result["msg"].startswith("memory: '2GB' is not a valid Kubernetes quantity")
    assert api_server.requests == []


def test_two_disk_sources_fail_argument_validation(run_module, api_server):
    args = dict(ARGS, disks=[{"name": "root", "container_disk": "img", "pvc": "claim"}])
    result, failed = run_module(vm_module.main, args)
    assert failed
    assert "mutually exclusive" in result["msg"] and "container_disk|pvc" in result["msg"]
    assert api_server.requests == []


def test_api_refusal_fails_with_the_server_message(run_module, api_server, api_error):
    # The module's own lookup finds it (it was deleted between lookup and admission, say).
    api_server.put("/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes/nope", {"metadata": {"name": "nope"}})
    api_server.fail("PATCH", VM, api_error(
        422, "Invalid", 'VirtualMachine.kubevirt.io "vm1" is invalid',
        causes=[{
            "field": "spec.instancetype.name",
            "message": 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "nope" not found',
            "reason": "FieldValueNotFound",
        }],
    ))
    result, failed = run_module(vm_module.main, dict(ARGS, memory=None, instancetype={"name": "nope"}))
    assert failed
    assert result["status"] == 422
    assert result["msg"].startswith("Failed to apply VirtualMachine ns/vm1: 422 Invalid:")
    assert 'spec.instancetype.name: virtualmachineclusterinstancetypes.instancetype.kubevirt.io "nope" not found' in result["msg"]
    assert api_server.writes == []


def test_restart_calls_the_subresource(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.put(VMI, {"metadata": {"name": "vm1", "namespace": "ns", "uid": "old"}, "status": {"phase": "Running"}})
    api_server.requests.clear()
    result, failed = run_module(vm_module.main, dict(ARGS, restart=True))
    assert not failed
    assert result["changed"] is True and result["restarted"] is True
    assert ("PUT", RESTART) in _calls(api_server)


def test_restart_refused_by_kubevirt_fails(run_module, api_server, api_error):
    # (A Halted VM is refused before any request: see tests/integration/test_vm_validation.py.)
    run_module(vm_module.main, dict(ARGS, run_strategy="Manual"))
    api_server.fail("PUT", RESTART, api_error(409, "Conflict", "VM is not running"))
    result, failed = run_module(vm_module.main, dict(ARGS, run_strategy="Manual", restart=True))
    assert failed
    assert result["msg"] == "Restart of VirtualMachine ns/vm1 refused: 409 Conflict: VM is not running"


def test_restart_is_skipped_when_the_task_starts_the_vm(run_module, api_server):
    run_module(vm_module.main, dict(ARGS, run_strategy="Halted"))
    api_server.requests.clear()
    result = run_module(vm_module.main, dict(ARGS, run_strategy="Always", restart=True))[0]
    assert result["restarted"] is False and result["changed"] is True
    assert ("PUT", RESTART) not in _calls(api_server)


def test_restart_in_check_mode_is_a_dry_run(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.put(VMI, {"metadata": {"name": "vm1", "namespace": "ns", "uid": "old"}, "status": {"phase": "Running"}})
    result = run_module(vm_module.main, dict(ARGS, restart=True), check_mode=True)[0]
    assert result["restarted"] is True
    restart = [r for r in api_server.requests if r.path == RESTART][0]
    assert restart.dry_run and restart.body == {"dryRun": ["All"]}


def test_wait_returns_at_once_when_already_in_state(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.objects[VM]["status"] = {"printableStatus": "Running", "ready": True}
    api_server.requests.clear()
    result, failed = run_module(vm_module.main, dict(ARGS, wait=True))
    assert not failed and result["changed"] is False
    assert _calls(api_server) == [("GET", VM), ("GET", VMI)]


def test_absent_deletes_and_reports_diff(run_module, api_server):
    run_module(vm_module.main, ARGS)
    api_server.requests.clear()
    result, failed = run_module(vm_module.main, {"name": "vm1", "namespace": "ns", "state": "absent"}, diff=True)
    assert not failed
    assert result["changed"] is True and result["method"] == "delete"
    assert _calls(api_server) == [("GET", VM), ("DELETE", VM)]
    assert api_server.requests[1].body["propagationPolicy"] == "Background"
    assert result["diff"]["after"] == {}
    assert VM not in api_server.objects


def test_absent_when_gone_is_one_get(run_module, api_server):
    result, failed = run_module(vm_module.main, {"name": "vm1", "namespace": "ns", "state": "absent"})
    assert not failed and result["changed"] is False
    assert _calls(api_server) == [("GET", VM)]


def test_absent_refuses_to_delete_owned_data_volumes_without_force(run_module, api_server):
    args = dict(ARGS, disks=[{"name": "root", "data_volume": {"url": "https://x/disk.img", "size": "10Gi"}}])
    run_module(vm_module.main, args)
    api_server.requests.clear()
    absent = {"name": "vm1", "namespace": "ns", "state": "absent"}
    result, failed = run_module(vm_module.main, absent)
    assert failed
    assert "force: deleting VirtualMachine ns/vm1 also deletes the DataVolumes it owns (vm1-root)" in result["msg"]
    assert api_server.writes == []
    result, failed = run_module(vm_module.main, dict(absent, delete_options={"propagationPolicy": "Orphan"}))
    assert not failed and result["changed"] is True


def test_absent_with_force_deletes(run_module, api_server):
    run_module(vm_module.main, dict(ARGS, disks=[{"name": "root", "data_volume": {"blank": True, "size": "1Gi"}}]))
    result, failed = run_module(vm_module.main, {"name": "vm1", "namespace": "ns", "state": "absent", "force": True})
    assert not failed and result["changed"] is True


def test_absent_already_terminating_is_not_a_change(run_module, api_server):
    live = copy.deepcopy({"metadata": {"name": "vm1", "namespace": "ns", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {}})
    api_server.put(VM, live)
    result = run_module(vm_module.main, {"name": "vm1", "namespace": "ns", "state": "absent"})[0]
    assert result["changed"] is False
    assert api_server.writes == []
