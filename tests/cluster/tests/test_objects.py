"""ObjectService semantics that clients rely on (in-process, no HTTP)."""
from __future__ import annotations

import copy

import pytest

from tests.cluster.api.catalog import build_registry
from tests.cluster.api.errors import ApiError
from tests.cluster.api.objects import ObjectService, owner_reference, set_condition, condition
from tests.cluster.api.store import Store

VM = ("kubevirt.io", "virtualmachines")
VMI = ("kubevirt.io", "virtualmachineinstances")
NS = ("", "namespaces")
CM = ("", "configmaps")


@pytest.fixture
def svc() -> ObjectService:
    service = ObjectService(Store(), build_registry("kubernetes"))
    service.create(NS, {"metadata": {"name": "demo"}})
    return service


def vm(name: str = "vm1", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "demo"}, "spec": {"runStrategy": "Halted", **spec}}


def test_create_sets_server_fields(svc):
    created = svc.create(VM, vm())
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"]
    assert created["apiVersion"] == "kubevirt.io/v1" and created["kind"] == "VirtualMachine"


def test_create_drops_status_for_status_subresource(svc):
    assert "status" not in svc.create(VM, dict(vm(), status={"ready": True}))


def test_create_keeps_status_without_status_subresource(svc):
    obj = {"metadata": {"name": "x", "namespace": "demo"}, "spec": {}, "status": {"phase": "Running"}}
    assert svc.create(VMI, obj)["status"] == {"phase": "Running"}


def test_create_existing_is_already_exists(svc):
    svc.create(VM, vm())
    with pytest.raises(ApiError) as err:
        svc.create(VM, vm())
    assert err.value.code == 409 and err.value.reason == "AlreadyExists"
    assert err.value.message == 'virtualmachines.kubevirt.io "vm1" already exists'


def test_create_in_missing_namespace_is_not_found(svc):
    obj = vm()
    obj["metadata"]["namespace"] = "nope"
    with pytest.raises(ApiError) as err:
        svc.create(VM, obj)
    assert err.value.code == 404 and err.value.message == 'namespaces "nope" not found'


def test_generate_name_is_deterministic_per_seed():
    names = []
    for _ in range(2):
        service = ObjectService(Store(), build_registry("kubernetes"), seed=7)
        service.create(NS, {"metadata": {"name": "demo"}})
        names.append(service.create(VM, {"metadata": {"generateName": "kubevirt-migrate-vm-", "namespace": "demo"},
                                         "spec": {}})["metadata"]["name"])
    assert names[0] == names[1] and names[0].startswith("kubevirt-migrate-vm-") and len(names[0]) == 25


def test_dry_run_create_stores_nothing(svc):
    before = svc.store.resource_version
    svc.create(VM, vm(), dry_run=True)
    assert svc.try_get(VM, "demo", "vm1") is None and svc.store.resource_version == before


def test_noop_update_keeps_resource_version(svc):
    created = svc.create(VM, vm())
    again = svc.update(VM, copy.deepcopy(created))
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_spec_change_bumps_generation_and_rv(svc):
    created = svc.create(VM, vm())
    changed = copy.deepcopy(created)
    changed["spec"]["runStrategy"] = "Always"
    updated = svc.update(VM, changed)
    assert updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_label_change_does_not_bump_generation(svc):
    created = svc.create(VM, vm())
    changed = copy.deepcopy(created)
    changed["metadata"]["labels"] = {"a": "b"}
    assert svc.update(VM, changed)["metadata"]["generation"] == 1


def test_stale_resource_version_conflicts(svc):
    created = svc.create(VM, vm())
    first = copy.deepcopy(created)
    first["spec"]["runStrategy"] = "Always"
    svc.update(VM, first)
    stale = copy.deepcopy(created)
    stale["spec"]["runStrategy"] = "Manual"
    with pytest.raises(ApiError) as err:
        svc.update(VM, stale)
    assert err.value.code == 409 and err.value.reason == "Conflict"
    assert "the object has been modified" in err.value.message


def test_main_endpoint_ignores_status_and_status_endpoint_ignores_spec(svc):
    created = svc.create(VM, vm())
    with_status = copy.deepcopy(created)
    with_status["status"] = {"ready": True}
    assert "status" not in svc.update(VM, with_status)
    status_write = copy.deepcopy(created)
    status_write["spec"]["runStrategy"] = "Always"
    status_write["status"] = {"ready": True}
    result = svc.update(VM, status_write, subresource="status")
    assert result["status"] == {"ready": True} and result["spec"]["runStrategy"] == "Halted"
    assert result["metadata"]["generation"] == 1


def test_finalizers_delay_deletion(svc):
    obj = vm()
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    svc.create(VM, obj)
    marked, gone = svc.delete(VM, "demo", "vm1")
    assert not gone and marked["metadata"]["deletionTimestamp"]
    svc.remove_finalizer(VM, "demo", "vm1", "example.com/keep")
    assert svc.try_get(VM, "demo", "vm1") is None


def test_delete_uid_precondition(svc):
    svc.create(VM, vm())
    with pytest.raises(ApiError) as err:
        svc.delete(VM, "demo", "vm1", preconditions={"uid": "other"})
    assert err.value.code == 409 and "Precondition failed" in err.value.message


def test_orphan_strips_owner_references(svc):
    owner = svc.create(VM, vm())
    svc.create(CM, {"metadata": {"name": "dep", "namespace": "demo",
                                 "ownerReferences": [owner_reference(owner)]}})
    svc.delete(VM, "demo", "vm1", propagation="Orphan")
    assert "ownerReferences" not in svc.get(CM, "demo", "dep")["metadata"]


def test_foreground_adds_finalizer_when_dependents_exist(svc):
    owner = svc.create(VM, vm())
    svc.create(CM, {"metadata": {"name": "dep", "namespace": "demo",
                                 "ownerReferences": [owner_reference(owner)]}})
    marked, gone = svc.delete(VM, "demo", "vm1", propagation="Foreground")
    assert not gone and "foregroundDeletion" in marked["metadata"]["finalizers"]


def test_namespace_delete_marks_terminating(svc):
    marked, gone = svc.delete(NS, None, "demo")
    assert not gone and marked["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as err:
        svc.create(CM, {"metadata": {"name": "late", "namespace": "demo"}})
    assert err.value.code == 403 and "being terminated" in err.value.message


def test_set_condition_keeps_transition_time_when_status_unchanged():
    first = condition("Ready", "True", "Ok")
    first["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    updated = set_condition([first], condition("Ready", "True", "Ok"))
    assert updated[0]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    flipped = set_condition([first], condition("Ready", "False", "Gone"))
    assert flipped[0]["lastTransitionTime"] != "2020-01-01T00:00:00Z"


def test_watch_backlog_and_too_old(svc):
    created = svc.create(VM, vm())
    rv = int(created["metadata"]["resourceVersion"])
    changed = copy.deepcopy(created)
    changed["spec"]["runStrategy"] = "Always"
    svc.update(VM, changed)
    watcher, backlog = svc.store.watch(VM, "demo", rv)
    try:
        assert [e.type for e in backlog] == ["MODIFIED"]
    finally:
        watcher.close()
    small = Store(history_size=2)
    service = ObjectService(small, build_registry("kubernetes"))
    service.create(NS, {"metadata": {"name": "demo"}})
    for i in range(4):
        service.create(CM, {"metadata": {"name": f"c{i}", "namespace": "demo"}})
    with pytest.raises(ValueError):
        small.watch(CM, None, 1000)
