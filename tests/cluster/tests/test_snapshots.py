"""VolumeSnapshots: classes, contents, readiness, errors, kept bytes and restores (DataVolume, PVC, DataSource)."""
from __future__ import annotations

import hashlib
import os

from tests.cluster.controllers.disks import claim_key
from tests.cluster.tests.harness import DS, DV, EVENT, PVC, UTR
from tests.cluster.tests.storage_env import condition, datavolume

VS = ("snapshot.storage.k8s.io", "volumesnapshots")
VSC = ("snapshot.storage.k8s.io", "volumesnapshotcontents")
VSCLASS = ("snapshot.storage.k8s.io", "volumesnapshotclasses")
IMAGE = os.urandom(1 << 16) * 8  # 512 KiB


def claim(env, name: str, storage_class: str = "ocs-storagecluster-ceph-rbd-virtualization", **spec) -> None:
    env.create(PVC, {"metadata": {"name": name, "namespace": "demo"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                              "resources": {"requests": {"storage": "1Gi"}}, **spec}})


def snapshot(env, name: str, pvc: str, class_name: str | None = None) -> None:
    spec: dict = {"source": {"persistentVolumeClaimName": pvc}}
    if class_name:
        spec["volumeSnapshotClassName"] = class_name
    env.create(VS, {"metadata": {"name": name, "namespace": "demo"}, "spec": spec})


def ready(env, name: str) -> dict:
    return env.wait(lambda: ((env.get(VS, "demo", name) or {}).get("status") or {}).get("readyToUse")
                    and env.get(VS, "demo", name), what=f"{name} readyToUse")


def error_of(env, name: str) -> str:
    return env.wait(lambda: (((env.get(VS, "demo", name) or {}).get("status") or {}).get("error") or {}).get("message"),
                    what=f"{name} error")


def image(env, name: str) -> bytes:
    return b"".join(env.rt.disks.read(claim_key(env.store, "demo", name)))


def uploaded(env, name: str, data: bytes) -> None:
    env.create(DV, datavolume(name, {"upload": {}}))
    env.phases(DV, "demo", name, "UploadReady")
    token = env.create(UTR, {"metadata": {"name": f"t-{name}", "namespace": "demo"},
                             "spec": {"pvcName": name}})["status"]["token"]
    assert env.upload.handle("POST", "/v1beta1/upload", {}, {"Authorization": f"Bearer {token}"}, data)[0] == 200
    env.phases(DV, "demo", name, "Succeeded")


def test_only_the_rbd_driver_has_a_default_class(env):
    classes = env.store.list(VSCLASS)[0]
    assert [(c["metadata"]["name"], c["driver"], c["deletionPolicy"]) for c in classes] == [
        ("ocs-storagecluster-rbdplugin-snapclass", "openshift-storage.rbd.csi.ceph.com", "Delete")]
    assert classes[0]["metadata"]["annotations"]["snapshot.storage.kubernetes.io/is-default-class"] == "true"


def test_snapshot_is_bound_ready_and_keeps_the_bytes_it_was_cut_with(env):
    uploaded(env, "golden", IMAGE)
    snapshot(env, "golden-snap", "golden")
    snap = ready(env, "golden-snap")
    status = snap["status"]
    content_name = f"snapcontent-{snap['metadata']['uid']}"
    assert status["boundVolumeSnapshotContentName"] == content_name and status["restoreSize"] == "1Gi"
    assert status["creationTime"] and "error" not in status
    assert snap["spec"]["volumeSnapshotClassName"] == "ocs-storagecluster-rbdplugin-snapclass"  # defaulted
    assert "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection" in snap["metadata"]["finalizers"]
    content = env.get(VSC, None, content_name)
    assert content["spec"]["volumeSnapshotRef"]["name"] == "golden-snap" and content["status"]["readyToUse"] is True
    assert content["spec"]["driver"] == "openshift-storage.rbd.csi.ceph.com"
    assert content["status"]["restoreSize"] == 1 << 30
    assert env.reasons("demo", "golden-snap")[-3:] == ["CreatingSnapshot", "SnapshotCreated", "SnapshotReady"]
    # later writes to the claim do not reach the snapshot
    with open(env.rt.disks.path(claim_key(env.store, "demo", "golden")), "r+b") as f:
        f.write(b"changed after the snapshot")
    env.create(DV, datavolume("from-dv", {"snapshot": {"namespace": "demo", "name": "golden-snap"}}))
    claim(env, "from-pvc", dataSource={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                       "name": "golden-snap"})
    env.phases(DV, "demo", "from-dv", "Succeeded")
    env.wait(lambda: claim_key(env.store, "demo", "from-pvc"), what="from-pvc bound")
    digest = hashlib.sha256(IMAGE).hexdigest()
    assert hashlib.sha256(image(env, "from-dv")).hexdigest() == digest
    assert hashlib.sha256(image(env, "from-pvc")).hexdigest() == digest


def test_no_class_for_the_driver_is_the_real_failure(env):
    claim(env, "shared", storage_class="ocs-storagecluster-cephfs")
    env.wait(lambda: claim_key(env.store, "demo", "shared"))
    snapshot(env, "shared-snap", "shared")
    assert error_of(env, "shared-snap") == "Failed to set default snapshot class with error cannot find default snapshot class"
    assert env.get(VS, "demo", "shared-snap")["status"]["readyToUse"] is False
    warnings = [e for e in env.events("demo", "shared-snap") if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["SetDefaultSnapshotClassFailed"]
    snapshot(env, "named", "shared", class_name="nope")
    assert error_of(env, "named") == ('Failed to get snapshot class with error '
                                      'volumesnapshotclass.snapshot.storage.k8s.io "nope" not found')


def test_missing_source_claim_fails_then_recovers(env):
    snapshot(env, "early", "later")
    assert error_of(env, "early") == ('Failed to set default snapshot class with error failed to retrieve PVC later '
                                      'from the lister: "persistentvolumeclaim \\"later\\" not found"')
    claim(env, "later")
    assert ready(env, "early")["status"]["readyToUse"] is True


def test_restores_and_data_sources_wait_for_the_snapshot(env):
    claim(env, "restore", dataSource={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"})
    env.create(DS, {"metadata": {"name": "golden", "namespace": "demo"},
                    "spec": {"source": {"snapshot": {"namespace": "demo", "name": "snap"}}}})
    env.wait(lambda: condition(env.get(DS, "demo", "golden"), "Ready").get("reason") == "NotFound")
    assert condition(env.get(DS, "demo", "golden"), "Ready")["message"] == "Snapshot not found"
    failed = env.wait(lambda: [e for e in env.store.list(EVENT, "demo")[0] if e["involvedObject"]["name"] == "restore"
                               and e["reason"] == "ProvisioningFailed"])
    assert failed[0]["message"] == (
        'failed to provision volume with StorageClass "ocs-storagecluster-ceph-rbd-virtualization": error getting '
        'handle for DataSource Type VolumeSnapshot by Name snap: error getting snapshot snap from api server: '
        'volumesnapshots.snapshot.storage.k8s.io "snap" not found')
    assert env.get(PVC, "demo", "restore")["status"]["phase"] == "Pending"
    claim(env, "origin")
    snapshot(env, "snap", "origin")
    ready(env, "snap")
    env.wait(lambda: condition(env.get(DS, "demo", "golden"), "Ready").get("status") == "True")
    env.wait(lambda: env.get(PVC, "demo", "restore")["status"].get("phase") == "Bound", what="restore bound")


def test_deleting_a_snapshot_deletes_its_content_and_bytes(env):
    claim(env, "src")
    snapshot(env, "gone", "src")
    content = ready(env, "gone")["status"]["boundVolumeSnapshotContentName"]
    key = f"snapshot/{content}"
    assert env.rt.disks.exists(key)
    env.service.delete(VS, "demo", "gone")
    env.wait(lambda: env.get(VS, "demo", "gone") is None and env.get(VSC, None, content) is None, what="gone")
    assert not env.rt.disks.exists(key)


def test_snapshot_types_are_served_over_https(apis, fresh_namespace):
    custom, _ = apis
    classes = custom.list_cluster_custom_object("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses")["items"]
    assert [c["metadata"]["name"] for c in classes] == ["ocs-storagecluster-rbdplugin-snapclass"]
    assert custom.list_namespaced_custom_object("snapshot.storage.k8s.io", "v1", fresh_namespace,
                                                "volumesnapshots")["items"] == []
