"""Storage simulation in-process: classes, StorageProfiles, CDIConfig, PVC/PV binding and reclaim."""
from __future__ import annotations

import time

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.tests.harness import CDI, CDICONFIG, CONFIGMAPS, POD, PV, PVC, SC, SP
from tests.cluster.tests.storage_env import consumer_pod


def claim(name: str, size: str = "1Gi", namespace: str = "demo", **spec) -> dict:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def phase(obj) -> str:
    return ((obj or {}).get("status") or {}).get("phase", "")


def test_storage_classes_and_defaults(env):
    classes = {c["metadata"]["name"]: c for c in env.service.list(SC)}
    assert set(classes) == {"ocs-storagecluster-ceph-rbd-virtualization", "ocs-storagecluster-cephfs", "local-wffc"}
    rbd = classes["ocs-storagecluster-ceph-rbd-virtualization"]
    assert rbd["metadata"]["annotations"]["storageclass.kubevirt.io/is-default-virt-class"] == "true"
    assert rbd["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert rbd["provisioner"] == "openshift-storage.rbd.csi.ceph.com" and rbd["volumeBindingMode"] == "Immediate"
    assert classes["local-wffc"]["volumeBindingMode"] == "WaitForFirstConsumer"


def test_storage_profiles_as_cdi_computes_them(env):
    rbd = env.get(SP, None, "ocs-storagecluster-ceph-rbd-virtualization")["status"]
    assert rbd["claimPropertySets"] == [
        {"accessModes": ["ReadWriteMany"], "volumeMode": "Block"},
        {"accessModes": ["ReadWriteOnce"], "volumeMode": "Block"},
        {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
    assert rbd["cloneStrategy"] == "csi-clone" and rbd["dataImportCronSourceFormat"] == "pvc"
    assert rbd["provisioner"] == "openshift-storage.rbd.csi.ceph.com"
    cephfs = env.get(SP, None, "ocs-storagecluster-cephfs")["status"]
    assert cephfs["claimPropertySets"] == [{"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem"}]
    hostpath = env.get(SP, None, "local-wffc")["status"]
    assert hostpath["claimPropertySets"] == [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
    assert hostpath["cloneStrategy"] == "copy"


def test_storage_profile_spec_overrides_status(env):
    def override(o):
        o["spec"]["claimPropertySets"] = [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
        o["spec"]["cloneStrategy"] = "copy"
    env.service.mutate(SP, None, "ocs-storagecluster-ceph-rbd-virtualization", override)
    env.wait(lambda: env.get(SP, None, "ocs-storagecluster-ceph-rbd-virtualization")["status"]["cloneStrategy"] == "copy")
    status = env.get(SP, None, "ocs-storagecluster-ceph-rbd-virtualization")["status"]
    assert status["claimPropertySets"] == [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]


def test_new_class_gets_a_profile_and_a_deleted_one_loses_it(env):
    env.create(SC, {"metadata": {"name": "nfs"}, "provisioner": "nfs.csi.k8s.io"})
    profile = env.wait(lambda: env.get(SP, None, "nfs"))
    assert profile["status"]["claimPropertySets"] == [{"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem"}]
    env.service.delete(SC, None, "nfs")
    env.wait(lambda: env.get(SP, None, "nfs") is None)


def test_cdiconfig_and_cdi_cr(env):
    config = env.get(CDICONFIG, None, "config")
    status = config["status"]
    assert status["scratchSpaceStorageClass"] == "ocs-storagecluster-ceph-rbd-virtualization"
    assert status["filesystemOverhead"]["global"] == "0.055"
    assert status["uploadProxyURL"] == "127.0.0.1:6443"
    assert status["defaultPodResourceRequirements"]["limits"] == {"cpu": "750m", "memory": "600M"}
    env.service.mutate(CDICONFIG, None, "config", lambda o: o["spec"].update(
        scratchSpaceStorageClass="local-wffc", filesystemOverhead={"global": "0.1"}))
    env.wait(lambda: env.get(CDICONFIG, None, "config")["status"]["scratchSpaceStorageClass"] == "local-wffc")
    assert env.get(CDICONFIG, None, "config")["status"]["filesystemOverhead"]["storageClass"]["local-wffc"] == "0.1"
    assert env.get(CDI, None, "cdi-kubevirt-hyperconverged")["status"]["phase"] == "Deployed"


def test_immediate_claim_binds_after_one_step(env):
    env.create(PVC, claim("data", "5Gi", storageClassName="ocs-storagecluster-ceph-rbd-virtualization"))
    assert phase(env.get(PVC, "demo", "data")) in ("", "Pending")
    bound = env.wait(lambda: phase(env.get(PVC, "demo", "data")) == "Bound" and env.get(PVC, "demo", "data"))
    pv = env.get(PV, None, bound["spec"]["volumeName"])
    assert bound["spec"]["volumeName"] == f"pvc-{bound['metadata']['uid']}"
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert bound["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert pv["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"] and phase(pv) == "Bound"
    assert pv["spec"]["csi"]["driver"] == "openshift-storage.rbd.csi.ceph.com"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert "nodeAffinity" not in pv["spec"]
    reasons = env.reasons("demo", "data")
    assert reasons == ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"]
    waiting = next(e for e in env.events("demo", "data") if e["reason"] == "ExternalProvisioning")
    assert waiting["message"].startswith("Waiting for a volume to be created either by the external provisioner "
                                         "'openshift-storage.rbd.csi.ceph.com' or manually by the system administrator.")


def test_claim_without_class_gets_the_default(env):
    created = env.create(PVC, claim("plain"))
    assert created["spec"]["storageClassName"] == "ocs-storagecluster-ceph-rbd-virtualization"
    env.wait(lambda: phase(env.get(PVC, "demo", "plain")) == "Bound")


def test_ceph_capacity_is_rounded_to_mebibytes(env):
    env.create(PVC, claim("odd", "1000000000"))
    bound = env.wait(lambda: phase(env.get(PVC, "demo", "odd")) == "Bound" and env.get(PVC, "demo", "odd"))
    assert bound["status"]["capacity"]["storage"] == "954Mi"


def test_wait_for_first_consumer_binds_on_the_consumers_node(env):
    env.create(PVC, claim("local", storageClassName="local-wffc"))
    env.wait(lambda: "WaitForFirstConsumer" in env.reasons("demo", "local"))
    time.sleep(0.1)
    pending = env.get(PVC, "demo", "local")
    assert phase(pending) == "Pending" and not pending["spec"].get("volumeName")
    event = next(e for e in env.events("demo", "local") if e["reason"] == "WaitForFirstConsumer")
    assert event["message"] == "waiting for first consumer to be created before binding"
    assert event["source"]["component"] == "persistentvolume-controller"
    env.create(POD, {"metadata": {"name": "unscheduled", "namespace": "demo"},
                      "spec": {"containers": [{"name": "c", "image": "x"}],
                               "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "local"}}]}})
    time.sleep(0.1)
    assert phase(env.get(PVC, "demo", "local")) == "Pending"
    env.create(POD, consumer_pod("consumer", "local", node_name="node02"))
    bound = env.wait(lambda: phase(env.get(PVC, "demo", "local")) == "Bound" and env.get(PVC, "demo", "local"))
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node02"
    pv = env.get(PV, None, bound["spec"]["volumeName"])
    terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node02"]}]}]


def test_missing_class_keeps_claim_pending_until_it_exists(env):
    env.create(PVC, claim("later", storageClassName="gold"))
    env.wait(lambda: "ProvisioningFailed" in env.reasons("demo", "later"))
    event = next(e for e in env.events("demo", "later") if e["reason"] == "ProvisioningFailed")
    assert event["type"] == "Warning" and event["message"] == 'storageclass.storage.k8s.io "gold" not found'
    assert phase(env.get(PVC, "demo", "later")) == "Pending"
    env.create(SC, {"metadata": {"name": "gold"}, "provisioner": "openshift-storage.rbd.csi.ceph.com"})
    env.wait(lambda: phase(env.get(PVC, "demo", "later")) == "Bound")


def test_empty_class_binds_only_static_volumes(env):
    env.create(PVC, claim("static", "2Gi", storageClassName=""))
    env.wait(lambda: "FailedBinding" in env.reasons("demo", "static"))
    assert phase(env.get(PVC, "demo", "static")) == "Pending"
    env.create(PV, {"metadata": {"name": "nfs-share"},
                    "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                             "nfs": {"server": "nfs.example.test", "path": "/share"},
                             "persistentVolumeReclaimPolicy": "Retain"}})
    env.wait(lambda: phase(env.get(PVC, "demo", "static")) == "Bound")
    assert env.get(PVC, "demo", "static")["status"]["capacity"] == {"storage": "10Gi"}
    assert env.get(PV, None, "nfs-share")["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    env.service.delete(PVC, "demo", "static")
    env.wait(lambda: phase(env.get(PV, None, "nfs-share")) == "Released")
    time.sleep(0.1)
    assert env.get(PV, None, "nfs-share") is not None  # Retain keeps the volume


def test_deleting_a_claim_deletes_its_dynamic_volume(env):
    env.create(PVC, claim("gone"))
    bound = env.wait(lambda: phase(env.get(PVC, "demo", "gone")) == "Bound" and env.get(PVC, "demo", "gone"))
    pv_name = bound["spec"]["volumeName"]
    env.service.delete(PVC, "demo", "gone")
    env.wait(lambda: env.get(PVC, "demo", "gone") is None)
    env.wait(lambda: env.get(PV, None, pv_name) is None)


def test_claim_in_use_is_protected(env):
    env.create(PVC, claim("used"))
    env.wait(lambda: phase(env.get(PVC, "demo", "used")) == "Bound")
    env.create(POD, consumer_pod("user", "used"))
    env.service.delete(PVC, "demo", "used")
    time.sleep(0.1)
    held = env.get(PVC, "demo", "used")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    env.service.delete(POD, "demo", "user")
    env.wait(lambda: env.get(PVC, "demo", "used") is None)


def test_expansion_only_where_the_class_allows_it(env):
    env.create(PVC, claim("grow", "1Gi"))
    bound = env.wait(lambda: phase(env.get(PVC, "demo", "grow")) == "Bound" and env.get(PVC, "demo", "grow"))
    bigger = dict(bound, spec=dict(bound["spec"], resources={"requests": {"storage": "3Gi"}}))
    env.update(PVC, bigger)
    env.wait(lambda: env.get(PVC, "demo", "grow")["status"]["capacity"]["storage"] == "3Gi")
    assert env.get(PV, None, bound["spec"]["volumeName"])["spec"]["capacity"]["storage"] == "3Gi"
    env.create(PVC, claim("fixed", storageClassName="local-wffc"))
    env.create(POD, consumer_pod("pin", "fixed"))
    fixed = env.wait(lambda: phase(env.get(PVC, "demo", "fixed")) == "Bound" and env.get(PVC, "demo", "fixed"))
    with pytest.raises(ApiError) as err:
        env.update(PVC, dict(fixed, spec=dict(fixed["spec"], resources={"requests": {"storage": "2Gi"}})))
    assert err.value.code == 403
    assert "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must " \
           "support resize" in err.value.message


def test_unrelated_objects_are_left_alone(env):
    env.create(CONFIGMAPS, {"metadata": {"name": "cm", "namespace": "demo"}, "data": {"a": "b"}})
    time.sleep(0.05)
    assert env.get(CONFIGMAPS, "demo", "cm")["data"] == {"a": "b"} and not env.rt.errors
