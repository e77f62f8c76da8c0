# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume against the local test cluster: lifecycle, check mode, idempotence,
immutable fields, expansion and in-use deletion."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

from .test_vm_disk_helpers import run_batch

DEFAULT_CLASS = "ocs-storagecluster-ceph-rbd-virtualization"
CDI = ("cdi.kubevirt.io", "v1beta1")


@pytest.fixture
def store(cluster):
    """Raw reads and writes of CDI objects and claims, as plain dicts."""
    from kubernetes import client as k8s

    api_client = cluster.api_client()
    custom, core = k8s.CustomObjectsApi(api_client), k8s.CoreV1Api(api_client)

    class Store:
        def dv(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
            try:
                return custom.get_namespaced_custom_object(*CDI, namespace, "datavolumes", name)
            except k8s.exceptions.ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        def pvc(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
            try:
                return api_client.sanitize_for_serialization(core.read_namespaced_persistent_volume_claim(name, namespace))
            except k8s.exceptions.ApiException as exc:
                if exc.status == 404:
                    return None
                raise

    yield Store()
    api_client.close()


def _blank(namespace: str, name: str = "disk", **extra: Any) -> Dict[str, Any]:
    return dict({"name": name, "namespace": namespace, "blank": True, "storage": {"size": "1Gi"}}, **extra)


def test_check_mode_create_idempotent_and_labels(runner, namespace, store):
    args = _blank(namespace, labels={"os": "none"})
    check = runner.run("datavolume", args, check=True, diff=True)
    assert not check.failed, check
    assert check.changed and check.result["method"] == "create"
    assert check.writes == [] and any(r["dry_run"] for r in check.requests), check
    assert check.result["diff"]["before"] == {}
    assert check.result["diff"]["after"]["spec"]["source"] == {"blank": {}}
    assert check.result["pvc"] is None
    assert store.dv(namespace, "disk") is None

    created = runner.run("datavolume", dict(args, wait=True))
    assert not created.failed, created
    assert created.changed and created.result["method"] == "create"
    assert created.result["result"]["status"]["phase"] == "Succeeded"
    # Omitted class, access and volume modes: what CDI took from the default class's StorageProfile.
    pvc = created.result["pvc"]
    assert (pvc["storage_class"], pvc["access_modes"], pvc["volume_mode"], pvc["phase"]) == (
        DEFAULT_CLASS, ["ReadWriteMany"], "Block", "Bound")
    assert store.dv(namespace, "disk")["spec"]["storage"] == {"resources": {"requests": {"storage": "1Gi"}}}
    assert store.pvc(namespace, "disk")["metadata"]["labels"]["os"] == "none"

    again = runner.run("datavolume", dict(args, wait=True))
    assert not again.failed, again
    assert again.changed is False and again.result["method"] == "none"
    assert [r["verb"] for r in again.requests] == ["get", "get"], again

    relabelled = runner.run("datavolume", dict(args, labels={"os": "fedora"}), diff=True)
    assert not relabelled.failed, relabelled
    assert relabelled.changed and relabelled.result["method"] == "update"
    assert relabelled.result["diff"]["before"]["metadata"]["labels"] == {"os": "none"}
    assert relabelled.result["diff"]["after"]["metadata"]["labels"] == {"os": "fedora"}
    assert store.dv(namespace, "disk")["metadata"]["labels"] == {"os": "fedora"}


def test_changed_spec_is_refused_before_any_write(runner, namespace, store):
    assert not runner.run("datavolume", _blank(namespace, storage={"size": "1Gi", "volume_mode": "Block"})).failed
    cases = [
        (_blank(namespace, storage={"size": "1Gi", "volume_mode": "Filesystem"}),
         "storage.volume_mode: DataVolume %s/disk has spec.storage.volumeMode = 'Block', the task asks for 'Filesystem'; "
         "a DataVolume's spec cannot change after creation" % namespace),
        ({"name": "disk", "namespace": namespace, "http": {"url": "https://example.com/a.qcow2"}, "storage": {"size": "1Gi"}},
         "http: DataVolume %s/disk was created from blank, not from http" % namespace),
        (_blank(namespace, storage={"size": "512Mi"}), "storage.size: DataVolume %s/disk has 1Gi, the task asks for 512Mi; "
         "a volume cannot shrink" % namespace),
    ]
    results, requests = run_batch(runner, [args for args, _message in cases], module="datavolume")
    for (_args, message), result in zip(cases, results):
        assert result.get("failed") and result["msg"].startswith(message), result
    # One GET per task, nothing else.
    assert [r["verb"] for r in requests] == ["get"] * len(cases), requests
    assert store.dv(namespace, "disk")["spec"]["storage"]["volumeMode"] == "Block"


def test_size_increase_expands_the_claim_where_the_class_allows_it(runner, namespace, store):
    assert not runner.run("datavolume", _blank(namespace, wait=True)).failed
    check = runner.run("datavolume", _blank(namespace, storage={"size": "2Gi"}), check=True, diff=True)
    assert not check.failed, check
    assert check.changed and check.result["method"] == "expand" and check.writes == [], check
    grown = runner.run("datavolume", _blank(namespace, storage={"size": "2Gi"}, wait=True), diff=True)
    assert not grown.failed, grown
    assert grown.changed and grown.result["method"] == "expand" and grown.result["expanded"] is True
    assert grown.result["diff"]["after"]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert grown.result["pvc"]["capacity"] == "2Gi"
    assert store.pvc(namespace, "disk")["status"]["capacity"]["storage"] == "2Gi"
    assert store.dv(namespace, "disk")["spec"]["storage"]["resources"]["requests"]["storage"] == "1Gi"
    again = runner.run("datavolume", _blank(namespace, storage={"size": "2Gi"}))
    assert not again.failed and again.changed is False and again.writes == [], again

    wffc = {"size": "1Gi", "class": "local-wffc"}
    assert not runner.run("datavolume", _blank(namespace, "local", storage=wffc)).failed
    refused = runner.run("datavolume", _blank(namespace, "local", storage=dict(wffc, size="3Gi")))
    assert refused.failed and refused.writes == [], refused
    assert ("storage.size: DataVolume %s/local has 1Gi and the task asks for 3Gi, but its StorageClass local-wffc does not "
            "allow volume expansion" % namespace) in refused.msg


def test_unknown_storage_class_fails_before_any_write(runner, namespace, store):
    run = runner.run("datavolume", _blank(namespace, storage={"size": "1Gi", "class": "fast-nvme"}))
    assert run.failed, run
    assert run.msg.startswith("storage.class: StorageClass 'fast-nvme' does not exist"), run.msg
    assert DEFAULT_CLASS in run.msg and "local-wffc" in run.msg
    assert run.writes == [] and store.dv(namespace, "disk") is None


def test_unreachable_source_ends_the_wait_early_with_the_importer_message(runner, namespace):
    args = {"name": "bad", "namespace": namespace, "http": {"url": "https://images.example.invalid/fedora.qcow2"},
            "storage": {"size": "1Gi"}, "wait": True, "wait_timeout": 60}
    run = runner.run("datavolume", args)
    assert run.failed, run
    assert run.msg.startswith("DataVolume %s/bad cannot become populated (phase Succeeded): Unable to connect to http "
                              "data source" % namespace), run.msg
    assert "no such host" in run.msg and "reason Error" in run.msg
    assert "Timed out" not in run.msg


def test_in_use_deletion_is_refused_unless_forced(runner, namespace, store):
    assert not runner.run("datavolume", _blank(namespace, wait=True)).failed
    vm = {"name": "web", "namespace": namespace, "run_strategy": "Halted", "memory": "1Gi",
          "disks": [{"name": "root", "pvc": "disk"}], "networks": [{"name": "default"}]}
    assert not runner.run("vm", vm).failed
    refused = runner.run("datavolume", {"name": "disk", "namespace": namespace, "state": "absent"})
    assert refused.failed, refused
    assert refused.msg.startswith("force: DataVolume %s/disk (or its claim disk) is used by VirtualMachine web (volume root)"
                                  % namespace), refused.msg
    assert refused.writes == [] and store.dv(namespace, "disk") is not None

    preview = runner.run("datavolume", {"name": "disk", "namespace": namespace, "state": "absent", "force": True,
                                        "wait": True}, check=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    assert store.dv(namespace, "disk") is not None
    forced = runner.run("datavolume", {"name": "disk", "namespace": namespace, "state": "absent", "force": True,
                                       "wait": True}, diff=True)
    assert not forced.failed, forced
    assert forced.changed and forced.result["method"] == "delete" and forced.result["diff"]["after"] == {}
    assert store.dv(namespace, "disk") is None and store.pvc(namespace, "disk") is None
    gone = runner.run("datavolume", {"name": "disk", "namespace": namespace, "state": "absent"})
    assert not gone.failed and gone.changed is False and gone.writes == [], gone


def test_denied_cross_namespace_clone_names_the_permission(runner, namespace, faults):
    faults("error=403;verb=patch;path=/apis/cdi.kubevirt.io;times=1")
    run = runner.run("datavolume", {"name": "copy", "namespace": namespace, "clone_pvc": {"name": "golden", "namespace": "images"}})
    assert run.failed, run
    assert "may create datavolumes/source (API group cdi.kubevirt.io) in the source namespace images" in run.msg, run.msg
    # The only write is the refused dry run: nothing was stored.
    assert [r["query"] for r in run.writes if "dryRun=All" not in r["query"]] == [], run
