# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every DataVolume source type through virt.kubevirt.datavolume, populated as CDI does, and
waited for with datavolume_info (one playbook creates them, one wait covers the namespace)."""

from __future__ import annotations

import uuid

import pytest

from .test_vm_disk_helpers import run_batch

CDI = ("cdi.kubevirt.io", "v1beta1")


@pytest.fixture
def other_namespace(cluster):
    """A second namespace, the source side of a cross-namespace clone."""
    from kubernetes import client as k8s

    api_client = cluster.api_client()
    core = k8s.CoreV1Api(api_client)
    name = "dv-source-%s" % uuid.uuid4().hex[:6]
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    core.delete_namespace(name)
    api_client.close()


def _create_snapshot_if_served(cluster, namespace: str, name: str, claim: str) -> None:
    """A VolumeSnapshot of ``claim`` when the cluster serves them (older simulators count any
    named snapshot as ready)."""
    from kubernetes import client as k8s

    api_client = cluster.api_client()
    try:
        k8s.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "snapshot.storage.k8s.io", "v1", namespace, "volumesnapshots",
            {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": name},
             "spec": {"source": {"persistentVolumeClaimName": claim}}})
    except k8s.exceptions.ApiException as exc:
        if exc.status not in (404, 405):  # not served, or served for discovery only
            raise
    finally:
        api_client.close()


def _data_source(cluster, namespace: str, name: str, claim: str) -> None:
    from kubernetes import client as k8s

    api_client = cluster.api_client()
    k8s.CustomObjectsApi(api_client).create_namespaced_custom_object(
        *CDI, namespace, "datasources",
        {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource", "metadata": {"name": name},
         "spec": {"source": {"pvc": {"name": claim, "namespace": namespace}}}})
    api_client.close()


def test_every_source_type_is_populated(runner, cluster, namespace, other_namespace):
    size = {"size": "1Gi"}
    golden = runner.run("datavolume", {"name": "golden", "namespace": other_namespace, "blank": True, "storage": size,
                                       "wait": True})
    assert not golden.failed, golden
    _create_snapshot_if_served(cluster, other_namespace, "golden-snap", "golden")
    _data_source(cluster, other_namespace, "golden-ds", "golden")
    sources = {
        "http": {"http": {"url": "https://images.example.com/fedora.qcow2", "secret_ref": "basic-auth",
                          "cert_config_map": "images-ca", "extra_headers": ["X-Trace: 1"],
                          "secret_extra_headers": ["token-header"]}, "storage": size},
        "s3": {"s3": {"url": "https://s3.example.com/bucket/fedora.img", "secret_ref": "s3-keys"}, "storage": size},
        "gcs": {"gcs": {"url": "gs://bucket/fedora.img"}, "storage": size},
        "registry": {"registry": {"url": "docker://quay.io/containerdisks/fedora:41", "pull_method": "node"}, "storage": size},
        "blank": {"blank": True, "storage": dict(size, **{"class": "ocs-storagecluster-cephfs"}), "preallocation": True},
        "upload": {"upload": True, "storage": size},
        "clone": {"clone_pvc": {"name": "golden", "namespace": other_namespace}},
        "snapshot": {"snapshot": {"name": "golden-snap", "namespace": other_namespace}, "storage": size},
        "ref": {"source_ref": {"name": "golden-ds", "namespace": other_namespace}},
    }
    tasks = [dict(options, name=name, namespace=namespace, labels={"suite": "sources"}) for name, options in sources.items()]
    created, _requests = run_batch(runner, tasks, module="datavolume")
    for name, result in zip(sources, created):
        assert not result.get("failed") and result["changed"] and result["method"] == "create", (name, result)

    info = runner.run("datavolume_info", {"namespace": namespace, "label_selectors": ["suite=sources"], "wait": True,
                                          "wait_timeout": 90})
    assert not info.failed, info
    found = {dv["metadata"]["name"]: dv for dv in info.result["resources"]}
    assert sorted(found) == sorted(sources)
    phases = {name: dv["status"]["phase"] for name, dv in found.items()}
    assert phases == dict({name: "Succeeded" for name in sources}, upload="UploadReady"), phases
    http = found["http"]["spec"]["source"]["http"]
    assert (http["secretRef"], http["certConfigMap"], http["extraHeaders"], http["secretExtraHeaders"]) == (
        "basic-auth", "images-ca", ["X-Trace: 1"], ["token-header"])
    assert found["registry"]["spec"]["source"]["registry"]["pullMethod"] == "node"
    assert found["blank"]["spec"]["preallocation"] is True
    # CDI's choices and the clone's size, reported from the claims.
    assert found["blank"]["pvc"]["storage_class"] == "ocs-storagecluster-cephfs"
    assert found["blank"]["pvc"]["volume_mode"] == "Filesystem"
    assert found["clone"]["pvc"]["capacity"] == "1Gi" and found["clone"]["pvc"]["phase"] == "Bound"
    assert all(dv["used_by"] == [] for dv in found.values())
