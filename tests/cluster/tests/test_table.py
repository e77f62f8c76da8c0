"""Server-side Tables (kubectl get) with the real printer columns."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.cluster.api.table import human_duration, jsonpath, to_table


def ago(seconds: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


VMI = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
       "metadata": {"name": "fedora", "namespace": "demo", "creationTimestamp": "2020-01-01T00:00:00Z", "uid": "u1"},
       "status": {"phase": "Running", "nodeName": "worker-1",
                  "interfaces": [{"name": "default", "ipAddress": "10.128.0.12"}],
                  "conditions": [{"type": "Ready", "status": "True"},
                                 {"type": "LiveMigratable", "status": "False", "reason": "DisksNotLiveMigratable"}]}}


@pytest.mark.parametrize("seconds,text", [
    (5, "5s"), (119, "119s"), (303, "5m3s"), (600, "10m"), (3 * 3600 + 60, "3h1m"), (10 * 3600, "10h"),
    (2 * 86400, "2d"), (3 * 86400 + 7200, "3d2h"), (30 * 86400, "30d"), (800 * 86400, "2y70d"), (-5, "<invalid>")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_jsonpath_subset():
    assert jsonpath(VMI, ".status.conditions[?(@.type=='Ready')].status") == ["True"]
    assert jsonpath(VMI, '.status.conditions[?(@.status=="False")].type') == ["LiveMigratable"]
    assert jsonpath(VMI, ".status.interfaces[0].ipAddress") == ["10.128.0.12"]
    assert jsonpath(VMI, "{.status.interfaces[*].name}") == ["default"]
    assert jsonpath(VMI, ".status.missing") == []


def test_vmi_table_like_kubectl_get_vmi(reg):
    vmi = {**VMI, "metadata": {**VMI["metadata"], "creationTimestamp": ago(303)}}
    table = to_table(reg.get(("kubevirt.io", "virtualmachineinstances")), [vmi])
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", 0), ("Age", "date", 0), ("Phase", "string", 0), ("IP", "string", 0),
        ("NodeName", "string", 0), ("Ready", "string", 0), ("Live-Migratable", "string", 1), ("Paused", "string", 1)]
    (row,) = table["rows"]
    assert row["cells"] == ["fedora", "5m3s", "Running", "10.128.0.12", "worker-1", "True", "False", None]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": vmi["metadata"]}


def test_vm_and_datavolume_columns(reg):
    vm = {"metadata": {"name": "vm1", "creationTimestamp": ago(2 * 86400)},
          "status": {"printableStatus": "Provisioning", "conditions": [{"type": "Ready", "status": "False"}]}}
    table = to_table(reg.get(("kubevirt.io", "virtualmachines")), [vm], include_object="None")
    assert table["rows"] == [{"cells": ["vm1", "2d", "Provisioning", "False"]}]
    dv = {"metadata": {"name": "dv1", "creationTimestamp": ago(10)},
          "status": {"phase": "ImportInProgress", "progress": "42.00%", "restartCount": 2}}
    cells = to_table(reg.get(("cdi.kubevirt.io", "datavolumes")), [dv])["rows"][0]["cells"]
    assert cells == ["dv1", "ImportInProgress", "42.00%", 2, "10s"]


def test_nncp_status_from_true_condition(reg):
    nncp = {"metadata": {"name": "br1"}, "status": {"conditions": [
        {"type": "Degraded", "status": "False"},
        {"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"}]}}
    cells = to_table(reg.get(("nmstate.io", "nodenetworkconfigurationpolicies")), [nncp])["rows"][0]["cells"]
    assert cells == ["br1", "Available", "SuccessfullyConfigured"]


def test_crd_without_columns_gets_name_and_age(reg):
    table = to_table(reg.get(("cdi.kubevirt.io", "datasources")),
                     [{"metadata": {"name": "fedora", "creationTimestamp": ago(90)}}])
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["fedora", "90s"]


def test_pod_and_node_printers(reg):
    pod = {"metadata": {"name": "virt-launcher-fedora-abcde", "creationTimestamp": ago(60)},
           "spec": {"containers": [{"name": "compute"}], "nodeName": "worker-1"},
           "status": {"phase": "Running", "podIP": "10.128.0.12",
                      "containerStatuses": [{"name": "compute", "ready": True, "restartCount": 1,
                                             "state": {"running": {}}}]}}
    table = to_table(reg.get(("", "pods")), [pod])
    assert [c["name"] for c in table["columnDefinitions"]][:6] == ["Name", "Ready", "Status", "Restarts", "Age", "IP"]
    assert table["rows"][0]["cells"][:7] == ["virt-launcher-fedora-abcde", "1/1", "Running", "1", "60s",
                                             "10.128.0.12", "worker-1"]
    node = {"metadata": {"name": "worker-1", "creationTimestamp": ago(86400),
                         "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.2"},
                       "addresses": [{"type": "InternalIP", "address": "192.168.0.11"}]}}
    cells = to_table(reg.get(("", "nodes")), [node])["rows"][0]["cells"]
    assert cells[:6] == ["worker-1", "Ready,SchedulingDisabled", "worker", "24h", "v1.33.2", "192.168.0.11"]


def test_service_and_pvc_printers(reg):
    svc = {"metadata": {"name": "fedora-ssh", "creationTimestamp": ago(5)},
           "spec": {"type": "NodePort", "clusterIP": "172.30.0.10",
                    "ports": [{"port": 22, "nodePort": 30022, "protocol": "TCP"}], "selector": {"vm": "fedora"}}}
    assert to_table(reg.get(("", "services")), [svc])["rows"][0]["cells"] == [
        "fedora-ssh", "NodePort", "172.30.0.10", "<none>", "22:30022/TCP", "5s", "vm=fedora"]
    pvc = {"metadata": {"name": "root", "creationTimestamp": ago(5)},
           "spec": {"storageClassName": "rwx", "volumeName": "pv-1", "volumeMode": "Filesystem"},
           "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteMany"]}}
    assert to_table(reg.get(("", "persistentvolumeclaims")), [pvc])["rows"][0]["cells"] == [
        "root", "Bound", "pv-1", "20Gi", "RWX", "rwx", "<unset>", "5s", "Filesystem"]


def test_include_object_modes(reg):
    rtype = reg.get(("kubevirt.io", "virtualmachineinstances"))
    assert to_table(rtype, [VMI], include_object="Object")["rows"][0]["object"] is VMI
    assert "object" not in to_table(rtype, [VMI], include_object="None")["rows"][0]
