# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A declarative hot-plug racing another writer: the guarded patch is refused (409) and rebuilt
from a fresh read, so the other writer's disk survives."""

from __future__ import annotations

import copy

from ansible_collections.virt.kubevirt.plugins.module_utils._disk_apply import _patch_template
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError


def vm(version, *names):
    volumes = [{"name": n, "persistentVolumeClaim": {"claimName": n, "hotpluggable": True}} for n in names]
    disks = [{"name": n, "disk": {"bus": "scsi"}} for n in names]
    return {"metadata": {"name": "vm1", "namespace": "ns", "resourceVersion": version},
            "spec": {"template": {"spec": {"volumes": volumes, "domain": {"devices": {"disks": disks}}}}}}


class Server:
    """A VM that another writer changes once, just after our first read."""

    def __init__(self):
        self.stored = vm("2", "logs")  # the other writer added "logs" at version 2
        self.patches = []

    def get(self, ref, name, namespace):
        return copy.deepcopy(self.stored)

    def patch(self, ref, name, body, namespace):
        self.patches.append(body)
        if body["metadata"]["resourceVersion"] != self.stored["metadata"]["resourceVersion"]:
            raise KubeApiError("the object has been modified", status=409, reason="Conflict")
        spec = self.stored["spec"]["template"]["spec"]
        spec["volumes"] = body["spec"]["template"]["spec"]["volumes"]
        spec["domain"]["devices"]["disks"] = body["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
        return copy.deepcopy(self.stored)


PARAMS = {"vm_name": "vm1", "namespace": "ns", "name": "data", "data_volume": "vm1-data", "persistent_volume_claim": None,
          "bus": "scsi", "serial": None, "cache": None, "state": "present"}


def test_a_stale_write_is_rebuilt_and_keeps_the_other_writers_disk():
    server = Server()
    after = _patch_template(server, PARAMS, vm("1"))  # what we read before the other writer
    assert len(server.patches) == 2
    assert [v["name"] for v in after["spec"]["template"]["spec"]["volumes"]] == ["logs", "data"]


def test_an_unplug_someone_else_did_meanwhile_sends_no_second_write():
    server = Server()
    server.stored = vm("3")
    after = _patch_template(server, dict(PARAMS, state="absent"), vm("2", "data"))
    assert len(server.patches) == 1, "only the refused (stale) patch"
    assert after["spec"]["template"]["spec"]["volumes"] == []
