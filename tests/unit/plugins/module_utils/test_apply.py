# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._api import ResourceClient
from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE

PATH = "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"


def _desired(**spec):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm1", "namespace": "ns"}, "spec": spec}


def test_create_previews_then_applies(client, api_server):
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    assert (outcome.changed, outcome.method, outcome.before) == (True, "create", None)
    assert [r.dry_run for r in api_server.requests if r.write] == [True, False]
    assert api_server.objects[PATH]["spec"] == {"runStrategy": "Always"}


def test_unchanged_is_one_get(client, api_server):
    ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    api_server.requests.clear()
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    assert (outcome.changed, outcome.method) == (False, "none")
    assert [r.method for r in api_server.requests] == ["GET"]


def test_rejected_change_writes_nothing(client, api_server, api_error):
    api_server.fail("PATCH", PATH, api_error(400, "BadRequest", 'strict decoding error: unknown field "spec.bogus"'))
    with pytest.raises(KubeApiError, match="unknown field"):
        ensure_applied(client, VIRTUAL_MACHINE, _desired(bogus=1), "ns")
    assert api_server.writes == [r for r in api_server.requests if r.write and not r.dry_run] == []
    assert PATH not in api_server.objects


def test_preview_without_visible_difference_is_not_written(client, api_server):
    # Ownership differs (another manager's apply), content does not: nothing to write.
    api_server.put(PATH, dict(_desired(runStrategy="Always"), status={}))
    api_server.objects[PATH]["metadata"]["managedFields"] = [
        {"manager": "virt.kubevirt", "operation": "Apply", "fieldsV1": {"f:spec": {"f:runStrategy": {}, "f:gone": {}}}}
    ]
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    assert outcome.changed is False
    assert api_server.writes == []


def test_check_mode_returns_the_preview(api_server):
    client = ResourceClient(object(), dry_run=True, transport=api_server)
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Halted"), "ns")
    assert outcome.changed and outcome.after["spec"] == {"runStrategy": "Halted"}
    assert api_server.writes == [] and api_server.objects == {}


def test_partial_request_keeps_what_it_does_not_declare(client, api_server):
    ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always", template={"spec": {"hostname": "a"}}), "ns")
    only_run_strategy = Declared(paths=(("spec", "runStrategy"),))
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Halted"), "ns", declared=only_run_strategy)
    assert outcome.changed
    assert api_server.objects[PATH]["spec"] == {"runStrategy": "Halted", "template": {"spec": {"hostname": "a"}}}
    api_server.requests.clear()
    again = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Halted"), "ns", declared=only_run_strategy)
    assert again.changed is False
    assert [r.method for r in api_server.requests] == ["GET"]


def test_without_declared_paths_the_request_is_the_whole_truth(client, api_server):
    ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always", template={"spec": {"hostname": "a"}}), "ns")
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    assert outcome.changed
    assert api_server.objects[PATH]["spec"] == {"runStrategy": "Always"}


class _RacingClient(ResourceClient):
    """Before this task's first real apply, another writer changes the object (409 for us)."""

    def __init__(self, api_server, change):
        super().__init__(object(), transport=api_server)
        self.api_server, self.change, self.sent = api_server, change, []

    def apply_status(self, ref, body, namespace=None, force=True, dry_run=None):
        if not dry_run:
            self.sent.append(body)
            if self.change:
                self.change(self.api_server.objects[PATH])
                self.change = None
                self.api_server.objects[PATH]["metadata"]["resourceVersion"] = "999"
            if body["metadata"].get("resourceVersion") != self.api_server.objects[PATH]["metadata"]["resourceVersion"]:
                raise KubeApiError("the object has been modified", status=409, reason="Conflict")
        return super().apply_status(ref, body, namespace, force, dry_run)


def test_carried_values_go_with_the_read_version_and_a_conflict_rebuilds(api_server):
    plain = ResourceClient(object(), transport=api_server)
    ensure_applied(plain, VIRTUAL_MACHINE, _desired(runStrategy="Always", memory="1Gi"), "ns")
    client = _RacingClient(api_server, lambda vm: vm["spec"].update(memory="2Gi"))
    declared = Declared(paths=(("spec", "runStrategy"),))
    outcome = ensure_applied(client, VIRTUAL_MACHINE, _desired(runStrategy="Halted"), "ns", declared=declared)
    assert outcome.changed and outcome.method == "update"
    assert [body["metadata"]["resourceVersion"] for body in client.sent][1] == "999"
    assert api_server.objects[PATH]["spec"] == {"runStrategy": "Halted", "memory": "2Gi"}


def test_object_created_meanwhile_is_not_reported_as_our_create(api_server):
    class Late(ResourceClient):
        def apply_status(self, ref, body, namespace=None, force=True, dry_run=None):
            if not dry_run and PATH not in api_server.objects:
                api_server.put(PATH, dict(body, metadata=dict(body["metadata"], generation=1)))
            return super().apply_status(ref, body, namespace, force, dry_run)

    outcome = ensure_applied(Late(object(), transport=api_server), VIRTUAL_MACHINE, _desired(runStrategy="Always"), "ns")
    assert (outcome.changed, outcome.method) == (False, "none")
