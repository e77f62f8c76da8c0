"""CDI and storage through the real HTTP API, with the kubernetes client (watch included)."""
from __future__ import annotations

import re
import time
from typing import Any, Callable

from tests.cluster.tests.harness import wait_for

GROUP, VERSION = "cdi.kubevirt.io", "v1beta1"


def until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    return wait_for(predicate, timeout, message=what)


def dv_body(name: str, source: dict, size: str | None = "1Gi", **storage) -> dict:
    target = dict(storage)
    if size:
        target["resources"] = {"requests": {"storage": size}}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DataVolume", "metadata": {"name": name},
            "spec": {"source": source, "storage": target}}


def get_dv(custom, ns: str, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes", name)


def cond(obj: dict, ctype: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


def test_import_phases_and_progress_by_watch(apis, fresh_namespace):
    from kubernetes import watch
    custom, _ = apis
    ns = fresh_namespace
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes",
                                                     dv_body("fedora", {"http": {"url": "https://example.com/f.qcow2"}}))
    phases: list[str] = []
    progress: list[str] = []
    stream = watch.Watch()
    for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, ns, "datavolumes",
                               resource_version=created["metadata"]["resourceVersion"], timeout_seconds=20):
        status = event["object"].get("status") or {}
        if status.get("phase") and (not phases or phases[-1] != status["phase"]):
            phases.append(status["phase"])
        if status.get("progress") and (not progress or progress[-1] != status["progress"]):
            progress.append(status["progress"])
        if status.get("phase") == "Succeeded":
            stream.stop()
    assert phases[0] == "Pending" and phases[-1] == "Succeeded"
    assert phases.index("ImportScheduled") < phases.index("ImportInProgress")
    assert progress[0] == "N/A" and progress[-1] == "100.0%"
    assert all(re.match(r"^\d{1,2}\.\d{2}%$", p) for p in progress[1:-1]) and len(progress) > 2


def test_claims_bind_immediately_or_on_first_consumer(apis, fresh_namespace):
    _, core = apis
    ns = fresh_namespace

    def pvc(name: str, sc: str) -> dict:
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sc,
                         "resources": {"requests": {"storage": "1Gi"}}}}
    core.create_namespaced_persistent_volume_claim(ns, pvc("fast", "ocs-storagecluster-ceph-rbd-virtualization"))
    core.create_namespaced_persistent_volume_claim(ns, pvc("local", "local-wffc"))
    bound = until(lambda: core.read_namespaced_persistent_volume_claim("fast", ns).status.phase == "Bound"
                  and core.read_namespaced_persistent_volume_claim("fast", ns), what="fast bound")
    volume = core.read_persistent_volume(bound.spec.volume_name)
    assert volume.spec.claim_ref.name == "fast" and volume.status.phase == "Bound"
    time.sleep(0.3)
    assert core.read_namespaced_persistent_volume_claim("local", ns).status.phase == "Pending"
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=local").items
    assert any(e.reason == "WaitForFirstConsumer" and
               e.message == "waiting for first consumer to be created before binding" for e in events)
    node = core.list_node().items[0].metadata.name
    core.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "consumer"},
                                    "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}],
                                             "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "local"}}]}})
    local = until(lambda: core.read_namespaced_persistent_volume_claim("local", ns).status.phase == "Bound"
                  and core.read_namespaced_persistent_volume_claim("local", ns), what="local bound")
    affinity = core.read_persistent_volume(local.spec.volume_name).spec.node_affinity
    assert affinity.required.node_selector_terms[0].match_expressions[0].values == [node]


def test_clone_waits_for_its_source(apis, fresh_namespace):
    custom, _ = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes",
                                           dv_body("copy", {"pvc": {"namespace": ns, "name": "golden"}}, size=None))
    waiting = until(lambda: cond(get_dv(custom, ns, "copy"), "Bound").get("reason") == "CloneWithoutSource"
                    and get_dv(custom, ns, "copy"), what="CloneWithoutSource")
    assert "phase" not in waiting["status"]
    assert cond(waiting, "Bound")["message"] == "The source pvc golden doesn't exist"
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes",
                                           dv_body("golden", {"http": {"url": "https://example.com/g.img"}}))
    done = until(lambda: (get_dv(custom, ns, "copy").get("status") or {}).get("phase") == "Succeeded"
                 and get_dv(custom, ns, "copy"), what="clone done")
    assert done["status"]["progress"] == "100.0%"


def test_failing_import_restarts_with_the_importer_message(apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes",
                                           dv_body("broken", {"http": {"url": "https://images.invalid/disk.img"}}))
    dv = until(lambda: (get_dv(custom, ns, "broken").get("status") or {}).get("restartCount", 0) >= 1
               and get_dv(custom, ns, "broken"), what="restarts")
    assert dv["status"]["phase"] == "ImportInProgress"
    running = cond(dv, "Running")
    assert running["status"] == "False" and running["reason"] == "Error"
    assert running["message"].startswith("Unable to connect to http data source: HTTP request errored: Get "
                                         '"https://images.invalid/disk.img": dial tcp: lookup images.invalid on ')
    pod = core.read_namespaced_pod("importer-broken", ns)
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].restart_count >= 1
    warnings = core.list_namespaced_event(ns, field_selector="involvedObject.name=broken,type=Warning").items
    assert any(e.reason == "Error" and e.message == running["message"] for e in warnings)


def test_datasource_and_source_ref(apis, fresh_namespace):
    custom, _ = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datasources", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "DataSource", "metadata": {"name": "centos"},
        "spec": {"source": {"pvc": {"namespace": ns, "name": "centos-stream9"}}}})
    until(lambda: cond(custom.get_namespaced_custom_object(GROUP, VERSION, ns, "datasources", "centos"),
                       "Ready").get("reason") == "NotFound", what="DataSource NotFound")
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes",
                                           dv_body("centos-stream9", {"registry": {"url": "docker://quay.io/containerdisks/centos-stream:9"}}))
    ready = until(lambda: cond(custom.get_namespaced_custom_object(GROUP, VERSION, ns, "datasources", "centos"),
                               "Ready").get("status") == "True"
                  and custom.get_namespaced_custom_object(GROUP, VERSION, ns, "datasources", "centos"),
                  what="DataSource ready")
    assert cond(ready, "Ready")["message"] == "DataSource is ready to be consumed"
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DataVolume", "metadata": {"name": "vm-root"},
            "spec": {"sourceRef": {"kind": "DataSource", "name": "centos"}, "storage": {}}}
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datavolumes", body)
    until(lambda: (get_dv(custom, ns, "vm-root").get("status") or {}).get("phase") == "Succeeded", what="vm-root")


def test_storage_objects_are_served(apis):
    custom, _ = apis
    profiles = custom.list_cluster_custom_object(GROUP, VERSION, "storageprofiles")["items"]
    by_name = {p["metadata"]["name"]: p for p in profiles}
    assert by_name["ocs-storagecluster-ceph-rbd-virtualization"]["status"]["claimPropertySets"][0] == \
        {"accessModes": ["ReadWriteMany"], "volumeMode": "Block"}
    config = custom.get_cluster_custom_object(GROUP, VERSION, "cdiconfigs", "config")
    assert config["status"]["scratchSpaceStorageClass"] == "ocs-storagecluster-ceph-rbd-virtualization"


def replay(custom, group: str, plural: str, ns: str, name: str, field: str, since: str, last: str) -> list[str]:
    """Distinct values of ``status.<field>`` of one object, replayed by a watch from ``since``."""
    from kubernetes import watch
    seen: list[str] = []
    stream = watch.Watch()
    for event in stream.stream(custom.list_namespaced_custom_object, group, "v1beta1" if group == GROUP else "v1",
                               ns, plural, field_selector=f"metadata.name={name}", resource_version=since,
                               timeout_seconds=20):
        value = (event["object"].get("status") or {}).get(field)
        if value and (not seen or seen[-1] != value):
            seen.append(value)
        if value == last:
            stream.stop()
    return seen


def test_vm_with_wait_for_first_consumer_disk(apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "local-vm"},
          "spec": {"runStrategy": "Always",
                   "dataVolumeTemplates": [{"metadata": {"name": "local-vm-root"}, "spec": {
                       "source": {"http": {"url": "https://example.com/rhel.qcow2"}},
                       "storage": {"storageClassName": "local-wffc", "resources": {"requests": {"storage": "10Gi"}}}}}],
                   "template": {"spec": {"domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
                                                    "memory": {"guest": "1Gi"}},
                                         "volumes": [{"name": "root", "dataVolume": {"name": "local-vm-root"}}]}}}}
    created = custom.create_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", vm)
    since = created["metadata"]["resourceVersion"]
    vm_states = replay(custom, "kubevirt.io", "virtualmachines", ns, "local-vm", "printableStatus", since, "Running")
    dv_phases = replay(custom, GROUP, "datavolumes", ns, "local-vm-root", "phase", since, "Succeeded")
    assert "WaitingForVolumeBinding" in vm_states and vm_states[-1] == "Running", vm_states
    assert dv_phases.index("WaitForFirstConsumer") < dv_phases.index("ImportInProgress") < \
        dv_phases.index("Succeeded"), dv_phases
    pvc = core.read_namespaced_persistent_volume_claim("local-vm-root", ns)
    launcher = next(p for p in core.list_namespaced_pod(ns).items if p.metadata.name.startswith("virt-launcher-"))
    assert pvc.metadata.annotations["volume.kubernetes.io/selected-node"] == launcher.spec.node_name
    affinity = core.read_persistent_volume(pvc.spec.volume_name).spec.node_affinity
    assert affinity.required.node_selector_terms[0].match_expressions[0].values == [launcher.spec.node_name]
