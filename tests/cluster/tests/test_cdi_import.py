"""CDI import DataVolumes in-process: phases, progress, PVC rendering, failures, WFFC, admission."""
from __future__ import annotations

import re
import time

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.tests.harness import CDICONFIG, DV, POD, PV, PVC, SC
from tests.cluster.tests.storage_env import condition, consumer_pod, datavolume

PROGRESS = re.compile(r"^\d{1,2}\.\d{2}%$")


def status(env, name: str, namespace: str = "demo") -> dict:
    return (env.get(DV, namespace, name) or {}).get("status") or {}


def watch_progress(env, name: str) -> list[str]:
    """``status.progress`` values seen until the DataVolume succeeds."""
    watcher, _ = env.store.watch(DV, "demo", None)
    seen: list[str] = []
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            event = watcher.next(0.5)
            if event is None or event.obj["metadata"]["name"] != name:
                continue
            value = (event.obj.get("status") or {}).get("progress")
            if value and (not seen or seen[-1] != value):
                seen.append(value)
            if (event.obj.get("status") or {}).get("phase") == "Succeeded":
                return seen
    finally:
        watcher.close()
    raise AssertionError(f"{name} did not succeed; progress seen {seen}")


def test_http_import_phases_progress_and_events(env):
    env.create(DV, datavolume("fedora", {"http": {"url": "https://mirror.example.com/fedora.qcow2"}}, size="20Gi"))
    phases = env.phases(DV, "demo", "fedora", "Succeeded")
    assert [p for p in phases if p] == ["Pending", "ImportScheduled", "ImportInProgress", "Succeeded"]
    final = status(env, "fedora")
    assert final["progress"] == "100.0%" and final["claimName"] == "fedora" and "restartCount" not in final
    assert condition(env.get(DV, "demo", "fedora"), "Ready")["status"] == "True"
    bound = condition(env.get(DV, "demo", "fedora"), "Bound")
    assert (bound["status"], bound["reason"], bound["message"]) == ("True", "Bound", "PVC fedora Bound")
    running = condition(env.get(DV, "demo", "fedora"), "Running")
    assert (running["status"], running["reason"], running["message"]) == ("False", "Completed", "Import Complete")
    messages = {e["reason"]: e["message"] for e in env.events("demo", "fedora")
                if e["involvedObject"]["kind"] == "DataVolume"}
    assert messages["ImportScheduled"] == "Import into fedora scheduled"
    assert messages["ImportInProgress"] == "Import into fedora in progress"
    assert messages["ImportSucceeded"] == "Successfully imported into PVC fedora"
    assert messages["Bound"] == "PVC fedora Bound"


def test_progress_strings(env):
    env.create(DV, datavolume("cirros", {"http": {"url": "http://images.example.com/cirros.img"}}))
    seen = watch_progress(env, "cirros")
    assert seen[0] == "N/A" and seen[-1] == "100.0%"
    middle = seen[1:-1]
    assert middle and all(PROGRESS.match(p) for p in middle), seen
    values = [float(p[:-1]) for p in middle]
    assert values == sorted(values)


def test_target_pvc_rendered_from_the_storage_profile(env):
    dv = env.create(DV, datavolume("disk", {"http": {"url": "https://example.com/disk.img"}}, size="20Gi"))
    pvc = env.wait(lambda: env.get(PVC, "demo", "disk"))
    assert pvc["spec"]["storageClassName"] == "ocs-storagecluster-ceph-rbd-virtualization"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"] and pvc["spec"]["volumeMode"] == "Block"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "21474836480"
    assert pvc["metadata"]["ownerReferences"] == [{
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "name": "disk",
        "uid": dv["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    anns = pvc["metadata"]["annotations"]
    assert anns["cdi.kubevirt.io/storage.import.endpoint"] == "https://example.com/disk.img"
    assert anns["cdi.kubevirt.io/storage.import.source"] == "http"
    assert anns["cdi.kubevirt.io/storage.contentType"] == "kubevirt"
    assert anns["cdi.kubevirt.io/createdForDataVolume"] == dv["metadata"]["uid"]
    assert pvc["metadata"]["labels"]["app"] == "containerized-data-importer"
    assert "kubernetes.io/pvc-protection" in pvc["metadata"]["finalizers"]
    annotated = env.wait(lambda: (env.get(DV, "demo", "disk")["metadata"].get("annotations") or {}))
    assert annotated["cdi.kubevirt.io/storage.usePopulator"] == "false"


def test_filesystem_size_includes_cdi_overhead(env):
    env.create(DV, datavolume("fs", {"blank": {}}, size="20Gi",
                              storage={"storageClassName": "ocs-storagecluster-cephfs"}))
    pvc = env.wait(lambda: env.get(PVC, "demo", "fs"))
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"] and pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "22655952487"  # ceil(20Gi * 1.055)
    assert pvc["metadata"]["labels"]["alerts.k8s.io/KubePersistentVolumeFillingUp"] == "disabled"


def test_volume_mode_from_profile_for_given_access_mode(env):
    env.create(DV, datavolume("rwo", {"blank": {}}, storage={"accessModes": ["ReadWriteOnce"]}))
    pvc = env.wait(lambda: env.get(PVC, "demo", "rwo"))
    assert pvc["spec"]["volumeMode"] == "Block"  # first RWO set of the rbd profile


def test_spec_pvc_is_used_verbatim(env):
    dv = datavolume("raw", {"blank": {}}, size=None)
    dv["spec"].pop("storage")
    dv["spec"]["pvc"] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
    env.create(DV, dv)
    pvc = env.wait(lambda: env.get(PVC, "demo", "raw"))
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi" and "volumeMode" not in pvc["spec"]
    assert pvc["spec"]["storageClassName"] == "ocs-storagecluster-ceph-rbd-virtualization"
    env.phases(DV, "demo", "raw", "Succeeded")


def test_importer_pod_runs_and_is_removed(env):
    env.create(DV, datavolume("img", {"http": {"url": "https://example.com/img.qcow2"}}))
    pod = env.wait(lambda: env.get(POD, "demo", "importer-img"))
    pvc = env.get(PVC, "demo", "img")
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "PersistentVolumeClaim"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == pvc["metadata"]["uid"]
    assert pod["metadata"]["labels"]["cdi.kubevirt.io"] == "importer"
    assert pod["spec"]["restartPolicy"] == "OnFailure" and pod["spec"]["nodeName"] in ("node01", "node02")
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "img"
    env_vars = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env_vars["IMPORTER_SOURCE"] == "http" and env_vars["IMPORTER_ENDPOINT"] == "https://example.com/img.qcow2"
    env.phases(DV, "demo", "img", "Succeeded")
    env.wait(lambda: env.get(POD, "demo", "importer-img") is None)
    anns = env.get(PVC, "demo", "img")["metadata"]["annotations"]
    assert anns["cdi.kubevirt.io/storage.pod.phase"] == "Succeeded"
    assert anns["cdi.kubevirt.io/storage.import.importPodName"] == "importer-img"


def test_unreachable_source_restarts_the_importer(env):
    env.create(DV, datavolume("broken", {"http": {"url": "http://images.example.invalid/disk.qcow2"}}))
    env.wait(lambda: status(env, "broken").get("restartCount", 0) >= 2, what="importer restarts")
    current = status(env, "broken")
    assert current["phase"] == "ImportInProgress" and current["progress"] == "N/A"
    running = condition(env.get(DV, "demo", "broken"), "Running")
    expected = ('Unable to connect to http data source: HTTP request errored: Get '
                '"http://images.example.invalid/disk.qcow2": dial tcp: lookup images.example.invalid on '
                '172.30.0.10:53: no such host')
    assert (running["status"], running["reason"], running["message"]) == ("False", "Error", expected)
    assert condition(env.get(DV, "demo", "broken"), "Ready")["status"] == "False"
    warnings = [e for e in env.events("demo", "broken") if e["type"] == "Warning"]
    assert {e["reason"] for e in warnings} >= {"Error", "ErrImportFailed"}
    assert all(e["message"] == expected for e in warnings)
    pod = env.get(POD, "demo", "importer-broken")
    assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["restartCount"] >= 2
    time.sleep(0.1)
    assert status(env, "broken")["phase"] == "ImportInProgress"


def test_refused_connection_and_registry_messages(env):
    env.create(DV, datavolume("refused", {"http": {"url": "http://localhost:1/disk.img"}}))
    env.create(DV, datavolume("reg", {"registry": {"url": "docker://quay.example.invalid/containerdisks/fedora:41"}}))
    env.wait(lambda: condition(env.get(DV, "demo", "refused"), "Running").get("reason") == "Error")
    env.wait(lambda: condition(env.get(DV, "demo", "reg"), "Running").get("reason") == "Error")
    assert condition(env.get(DV, "demo", "refused"), "Running")["message"].endswith(
        'Get "http://localhost:1/disk.img": dial tcp [::1]:1: connect: connection refused')
    assert condition(env.get(DV, "demo", "reg"), "Running")["message"] == (
        "Unable to process data: Unable to transfer source data to scratch space: Failed to read registry image: "
        "Error retrieving image: pinging container registry quay.example.invalid: Get "
        '"https://quay.example.invalid/v2/": dial tcp: lookup quay.example.invalid on 172.30.0.10:53: no such host')


def test_registry_s3_and_blank_sources_succeed(env):
    env.create(DV, datavolume("reg", {"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}}))
    env.create(DV, datavolume("s3", {"s3": {"url": "https://s3.example.com/bucket/disk.img", "secretRef": "creds"}}))
    env.create(DV, datavolume("blank", {"blank": {}}))
    for name in ("reg", "s3", "blank"):
        env.phases(DV, "demo", name, "Succeeded")
    assert env.get(PVC, "demo", "reg")["metadata"]["annotations"]["cdi.kubevirt.io/storage.import.source"] == "registry"
    assert env.get(PVC, "demo", "s3")["metadata"]["annotations"]["cdi.kubevirt.io/storage.import.secretName"] == "creds"
    assert env.get(PVC, "demo", "blank")["metadata"]["annotations"]["cdi.kubevirt.io/storage.import.source"] == "none"
    assert status(env, "blank")["progress"] == "100.0%"


def test_wait_for_first_consumer(env):
    env.create(DV, datavolume("local", {"http": {"url": "https://example.com/a.img"}},
                              storage={"storageClassName": "local-wffc"}))
    env.phases(DV, "demo", "local", "WaitForFirstConsumer")
    time.sleep(0.1)
    assert status(env, "local")["phase"] == "WaitForFirstConsumer"
    assert env.get(POD, "demo", "importer-local") is None
    bound = condition(env.get(DV, "demo", "local"), "Bound")
    assert (bound["status"], bound["reason"], bound["message"]) == ("False", "Pending", "PVC local Pending")
    env.create(POD, consumer_pod("virt-launcher-local-abcde", "local", node_name="node02"))
    pod = env.wait(lambda: env.get(POD, "demo", "importer-local"))
    assert pod["spec"]["nodeName"] == "node02"
    phases = env.phases(DV, "demo", "local", "Succeeded")
    assert "ImportInProgress" in phases


def test_importer_is_the_first_consumer_without_honor_wffc(env):
    env.service.mutate(CDICONFIG, None, "config", lambda o: o["spec"].update(featureGates=[]))
    env.create(DV, datavolume("eager", {"blank": {}}, storage={"storageClassName": "local-wffc"}))
    env.phases(DV, "demo", "eager", "Succeeded")
    pv = env.get(PV, None, env.get(PVC, "demo", "eager")["spec"]["volumeName"])
    assert pv["spec"]["nodeAffinity"]


def test_unrenderable_claim_waits_for_its_class(env):
    env.create(DV, datavolume("nosc", {"blank": {}}, storage={"storageClassName": "gold"}))
    env.wait(lambda: condition(env.get(DV, "demo", "nosc"), "Bound").get("reason") == "ErrClaimNotValid")
    bound = condition(env.get(DV, "demo", "nosc"), "Bound")
    assert bound["message"] == "PVC spec is missing accessMode and no storageClass to choose profile"
    assert "phase" not in status(env, "nosc") and env.get(PVC, "demo", "nosc") is None
    warning = next(e for e in env.events("demo", "nosc") if e["type"] == "Warning")
    assert warning["reason"] == "ErrClaimNotValid"
    env.create(SC, {"metadata": {"name": "gold"}, "provisioner": "openshift-storage.rbd.csi.ceph.com"})
    env.phases(DV, "demo", "nosc", "Succeeded")


@pytest.mark.parametrize("spec, message", [
    ({"source": {"blank": {}}}, "Missing Data volume PVC"),
    ({"source": {"blank": {}}, "storage": {}}, "Storage size is missing"),
    ({"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Ki"}}}},
     "Storage size should be at least 1MiB"),
    ({"source": {"http": {"url": "ftp://example.com/a.img"}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}},
     "spec.source Invalid source URL scheme: ftp://example.com/a.img"),
    ({"source": {"http": {"url": "https://e/a"}, "blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}},
     "Multiple Data volume sources"),
    ({"storage": {"resources": {"requests": {"storage": "1Gi"}}}},
     "Data volume should have either Source or SourceRef, or be externally populated"),
    ({"source": {"pvc": {"name": "x"}}, "storage": {}}, "spec.source.PVC source PVC is not valid"),
])
def test_validating_webhook(env, spec, message):
    with pytest.raises(ApiError) as err:
        env.create(DV, {"metadata": {"name": "bad", "namespace": "demo"}, "spec": spec})
    assert err.value.code == 422
    assert err.value.message == f'admission webhook "datavolume-validate.cdi.kubevirt.io" denied the request:  {message}'
    assert err.value.details["causes"][0]["message"] == message


def test_spec_is_immutable_and_existing_claims_are_refused(env):
    dv = env.create(DV, datavolume("fixed", {"blank": {}}))
    changed = dict(dv, spec=dict(dv["spec"], source={"http": {"url": "https://example.com/b.img"}}))
    with pytest.raises(ApiError) as err:
        env.update(DV, changed)
    assert "Cannot update DataVolume Spec" in err.value.message
    env.create(PVC, {"metadata": {"name": "taken", "namespace": "demo"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    with pytest.raises(ApiError) as err:
        env.create(DV, datavolume("taken", {"blank": {}}))
    assert err.value.message.endswith("Destination PVC demo/taken already exists")


def test_deleting_the_datavolume_collects_claim_and_volume(env):
    env.create(DV, datavolume("temp", {"blank": {}}))
    env.phases(DV, "demo", "temp", "Succeeded")
    pv_name = env.get(PVC, "demo", "temp")["spec"]["volumeName"]
    env.service.delete(DV, "demo", "temp")
    env.wait(lambda: env.get(PVC, "demo", "temp") is None, what="claim collected")
    env.wait(lambda: env.get(PV, None, pv_name) is None, what="volume deleted")
    assert not env.rt.errors


def test_deleting_a_datavolume_mid_import_stops_the_importer(env):
    env.create(DV, datavolume("stuck", {"http": {"url": "https://nowhere.invalid/disk.img"}}))
    env.wait(lambda: env.get(POD, "demo", "importer-stuck"))
    pv_name = env.wait(lambda: env.get(PVC, "demo", "stuck")["spec"].get("volumeName"))
    env.service.delete(DV, "demo", "stuck")
    env.wait(lambda: env.get(POD, "demo", "importer-stuck") is None, what="importer deleted")
    env.wait(lambda: env.get(PVC, "demo", "stuck") is None and env.get(PV, None, pv_name) is None)
    assert not env.rt.errors


def test_externally_populated_datavolume(env):
    dv = datavolume("external", None, storage={"dataSourceRef": {
        "apiGroup": "forklift.cdi.kubevirt.io", "kind": "OvirtVolumePopulator", "name": "disk-1"}})
    dv["spec"].pop("source")
    env.create(DV, dv)
    phases = env.phases(DV, "demo", "external", "Succeeded")
    assert "PendingPopulation" in phases
    assert env.get(PVC, "demo", "external")["spec"]["dataSourceRef"]["kind"] == "OvirtVolumePopulator"
