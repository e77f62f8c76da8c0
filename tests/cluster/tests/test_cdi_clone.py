"""CDI clones, snapshot sources, sourceRef and DataSources in-process."""
from __future__ import annotations

import time

import pytest

from tests.cluster.tests.harness import DS, DV, POD, PVC
from tests.cluster.tests.storage_env import condition, datavolume


@pytest.fixture
def env(env):
    """conftest's StorageEnv plus the namespace "golden" that holds clone sources."""
    env.namespace("golden")
    return env


def status(env, name: str, namespace: str = "demo") -> dict:
    return (env.get(DV, namespace, name) or {}).get("status") or {}


def clone_of(name: str, source: str, namespace: str = "golden", size=None) -> dict:
    return datavolume(name, {"pvc": {"namespace": namespace, "name": source}}, size=size)


def test_clone_waits_for_missing_source_then_completes(env):
    env.create(DV, clone_of("vm-disk", "fedora"))
    env.wait(lambda: condition(env.get(DV, "demo", "vm-disk"), "Bound").get("reason") == "CloneWithoutSource")
    time.sleep(0.1)
    waiting = status(env, "vm-disk")
    assert "phase" not in waiting and env.get(PVC, "demo", "vm-disk") is None
    for ctype in ("Bound", "Ready"):
        cond = condition(env.get(DV, "demo", "vm-disk"), ctype)
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "False", "CloneWithoutSource", "The source pvc fedora doesn't exist")
    assert "CloneWithoutSource" in env.reasons("demo", "vm-disk")
    env.create(DV, datavolume("fedora", {"http": {"url": "https://example.com/fedora.qcow2"}}, size="3Gi",
                              namespace="golden"))
    phases = env.phases(DV, "demo", "vm-disk", "Succeeded")
    assert phases.index("CloneScheduled") < phases.index("CloneInProgress") < phases.index("Succeeded")
    final = env.get(DV, "demo", "vm-disk")
    assert final["status"]["progress"] == "100.0%"
    assert final["metadata"]["annotations"]["cdi.kubevirt.io/cloneType"] == "copy"
    pvc = env.get(PVC, "demo", "vm-disk")
    assert pvc["metadata"]["annotations"]["k8s.io/CloneRequest"] == "golden/fedora"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "3221225472"  # detected from the source
    messages = {e["reason"]: e["message"] for e in env.events("demo", "vm-disk")}
    assert messages["CloneScheduled"] == "Cloning from golden/fedora into demo/vm-disk scheduled"
    assert messages["CloneInProgress"] == "Cloning from golden/fedora into demo/vm-disk in progress"
    assert messages["CloneSucceeded"] == "Successfully cloned from golden/fedora into demo/vm-disk"
    env.wait(lambda: env.get(POD, "demo", "cdi-upload-vm-disk") is None)
    assert env.get(POD, "golden", f"{pvc['metadata']['uid']}-source-pod") is None


def test_clone_waits_for_the_source_import(env):
    env.create(DV, datavolume("slow", {"http": {"url": "https://example.invalid/never.img"}}, namespace="golden"))
    env.create(DV, clone_of("copy", "slow"))
    env.wait(lambda: status(env, "copy").get("phase") == "CloneScheduled")
    time.sleep(0.1)
    assert env.get(PVC, "demo", "copy") is None
    assert "ImportPVCNotReady" in env.reasons("demo", "copy")


def test_clone_smaller_than_its_source_is_refused(env):
    env.create(PVC, {"metadata": {"name": "big", "namespace": "golden"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}})
    dv = clone_of("small", "big")
    dv["spec"].pop("storage")
    dv["spec"]["pvc"] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    env.create(DV, dv)
    env.wait(lambda: condition(env.get(DV, "demo", "small"), "Bound").get("reason") == "CloneValidationFailed")
    assert condition(env.get(DV, "demo", "small"), "Bound")["message"] == (
        "The clone doesn't meet the validation requirements: target resources requests storage size is smaller "
        "than the source 1073741824 < 10737418240")


def test_plain_claim_is_a_clone_source(env):
    env.create(PVC, {"metadata": {"name": "plain", "namespace": "golden"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Block",
                              "resources": {"requests": {"storage": "2Gi"}}}})
    env.create(DV, clone_of("from-plain", "plain", size="4Gi"))
    env.phases(DV, "demo", "from-plain", "Succeeded")


def test_snapshot_source_is_cloned(env):
    env.create(DV, datavolume("restored", {"snapshot": {"namespace": "golden", "name": "fedora-snap"}}, size="5Gi"))
    env.wait(lambda: condition(env.get(DV, "demo", "restored"), "Bound").get("reason") == "CloneWithoutSource")
    env.create(PVC, {"metadata": {"name": "fedora", "namespace": "golden"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}})
    env.create(("snapshot.storage.k8s.io", "volumesnapshots"), {
        "metadata": {"name": "fedora-snap", "namespace": "golden"},
        "spec": {"source": {"persistentVolumeClaimName": "fedora"}}})
    phases = env.phases(DV, "demo", "restored", "Succeeded")
    assert "CloneInProgress" in phases
    messages = {e["reason"]: e["message"] for e in env.events("demo", "restored")}
    assert messages["CloneSucceeded"] == "Successfully cloned from golden/fedora-snap into demo/restored"


def test_datasource_readiness_follows_its_source(env):
    env.create(DS, {"metadata": {"name": "fedora", "namespace": "golden"},
                    "spec": {"source": {"pvc": {"namespace": "golden", "name": "fedora-41"}}}})
    env.wait(lambda: condition(env.get(DS, "golden", "fedora"), "Ready").get("reason") == "NotFound")
    ready = condition(env.get(DS, "golden", "fedora"), "Ready")
    assert (ready["status"], ready["message"]) == ("False", "PVC not found")
    assert env.get(DS, "golden", "fedora")["status"]["source"] == {}  # cleared while not ready
    env.create(DV, datavolume("fedora-41", {"http": {"url": "https://example.invalid/slow.img"}}, namespace="golden"))
    env.wait(lambda: condition(env.get(DS, "golden", "fedora"), "Ready").get("reason") == "ImportInProgress")
    assert condition(env.get(DS, "golden", "fedora"), "Ready")["message"] == "Import DataVolume phase ImportInProgress"
    env.service.delete(DV, "golden", "fedora-41")
    env.wait(lambda: env.get(PVC, "golden", "fedora-41") is None)
    env.create(DV, datavolume("fedora-41", {"blank": {}}, namespace="golden"))
    env.wait(lambda: condition(env.get(DS, "golden", "fedora"), "Ready").get("status") == "True")
    ready = condition(env.get(DS, "golden", "fedora"), "Ready")
    assert (ready["reason"], ready["message"]) == ("Ready", "DataSource is ready to be consumed")
    assert env.get(DS, "golden", "fedora")["status"]["source"] == {"pvc": {"namespace": "golden", "name": "fedora-41"}}


def test_datasource_may_point_at_one_other_datasource(env):
    env.create(DV, datavolume("fedora-41", {"blank": {}}, namespace="golden"))
    env.create(DS, {"metadata": {"name": "fedora", "namespace": "golden"},
                    "spec": {"source": {"pvc": {"name": "fedora-41"}}}})
    env.create(DS, {"metadata": {"name": "latest", "namespace": "golden"},
                    "spec": {"source": {"dataSource": {"name": "fedora"}}}})
    env.wait(lambda: condition(env.get(DS, "golden", "latest"), "Ready").get("status") == "True")
    assert env.get(DS, "golden", "latest")["status"]["source"] == {"pvc": {"name": "fedora-41"}}
    env.create(DS, {"metadata": {"name": "chained", "namespace": "golden"},
                    "spec": {"source": {"dataSource": {"name": "latest"}}}})
    env.create(DS, {"metadata": {"name": "self", "namespace": "golden"},
                    "spec": {"source": {"dataSource": {"name": "self"}}}})
    env.create(DS, {"metadata": {"name": "away", "namespace": "golden"},
                    "spec": {"source": {"dataSource": {"name": "fedora", "namespace": "demo"}}}})
    env.create(DS, {"metadata": {"name": "dangling", "namespace": "golden"},
                    "spec": {"source": {"dataSource": {"name": "nothing"}}}})
    expected = {"chained": ("MaxReferenceDepthReached", "DataSource reference chain exceeds maximum depth of 1"),
                "self": ("SelfReference", "DataSource cannot self-reference"),
                "away": ("CrossNamespaceReference", "DataSource cannot reference a DataSource in another namespace"),
                "dangling": ("NotFound", 'datasources.cdi.kubevirt.io "nothing" not found')}
    for name, (reason, message) in expected.items():
        env.wait(lambda name=name: condition(env.get(DS, "golden", name), "Ready").get("reason") == reason, what=name)
        assert condition(env.get(DS, "golden", name), "Ready")["message"] == message


def test_datasource_without_source(env):
    env.create(DS, {"metadata": {"name": "empty", "namespace": "golden"}, "spec": {"source": {}}})
    env.wait(lambda: condition(env.get(DS, "golden", "empty"), "Ready").get("reason") == "NoSource")
    assert condition(env.get(DS, "golden", "empty"), "Ready")["message"] == "No source PVC set"


def test_source_ref_clones_the_datasource_source(env):
    env.create(DV, datavolume("rhel9", None, size=None,
                              sourceRef={"kind": "DataSource", "name": "rhel9", "namespace": "golden"}))
    time.sleep(0.1)
    assert not status(env, "rhel9")  # no controller handles a DataVolume whose DataSource is missing
    env.create(DS, {"metadata": {"name": "rhel9", "namespace": "golden"},
                    "spec": {"source": {"pvc": {"namespace": "golden", "name": "rhel9-golden"}}}})
    env.wait(lambda: condition(env.get(DV, "demo", "rhel9"), "Bound").get("reason") == "CloneWithoutSource")
    env.create(DV, datavolume("rhel9-golden", {"blank": {}}, size="2Gi", namespace="golden"))
    env.phases(DV, "demo", "rhel9", "Succeeded")
    assert env.get(PVC, "demo", "rhel9")["metadata"]["annotations"]["k8s.io/CloneRequest"] == "golden/rhel9-golden"
