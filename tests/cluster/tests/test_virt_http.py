"""The simulated KubeVirt through the real HTTPS API, with the kubernetes client and kubectl."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from kubernetes import client

KUBEVIRT = ("kubevirt.io", "v1")
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{plural}/{name}/{sub}"
KUBECTL = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kubectl")


def vm_body(name: str, run_strategy: str = "Always", **template_spec) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": run_strategy, "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {"domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
                                    "memory": {"guest": "256Mi"}},
                         "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}],
                         **template_spec}}}}


def wait_for(fetch, predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last: {json.dumps(value)[:600]}")
        time.sleep(0.05)


def get_vm(custom, ns: str, name: str) -> dict:
    return custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines", name)


def printable(custom, ns: str, name: str, status: str) -> dict:
    return wait_for(lambda: get_vm(custom, ns, name), lambda vm: vm.get("status", {}).get("printableStatus") == status)


def test_vm_runs_with_a_vmi_and_a_launcher_pod(cluster, apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines", vm_body("web"))
    vm = printable(custom, ns, "web", "Running")
    assert vm["status"]["ready"] is True
    vmi = custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "web")
    assert vmi["status"]["phase"] == "Running" and vmi["status"]["nodeName"].startswith("node0")
    pods = core.list_namespaced_pod(ns, label_selector="kubevirt.io=virt-launcher").items
    assert len(pods) == 1 and pods[0].spec.node_name == vmi["status"]["nodeName"]
    assert vmi["status"]["interfaces"][0]["ipAddress"] == pods[0].status.pod_ip
    assert pods[0].metadata.annotations["kubevirt.io/domain"] == "web"


def test_subresources_over_http(cluster, apis, fresh_namespace):
    custom, _ = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines", vm_body("vm1"))
    printable(custom, ns, "vm1", "Running")
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="vm1", sub="start"), {})
    assert answer.status == 409 and answer.content_type.startswith("application/json")
    assert answer.json()["message"] == ('Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is '
                                        "already running")
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="vm1", sub="restart"),
                          {"gracePeriodSeconds": 30})
    assert (answer.status, answer.json()["reason"]) == (400, "BadRequest")
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="ghost", sub="stop"), {})
    assert (answer.status, answer.json()["message"]) == (404, 'virtualmachine.kubevirt.io "ghost" not found')
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="vm1", sub="stop") + "?dryRun=All")
    assert answer.status == 202 and get_vm(custom, ns, "vm1")["spec"]["runStrategy"] == "Always"
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="vm1", sub="stop"))
    assert answer.status == 202 and answer.body == b""
    printable(custom, ns, "vm1", "Stopped")
    assert get_vm(custom, ns, "vm1")["spec"]["runStrategy"] == "Halted"
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachines", name="vm1", sub="start"))
    assert answer.status == 202
    printable(custom, ns, "vm1", "Running")
    wait_for(lambda: custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "vm1"),
             lambda vmi: any(c["type"] == "AgentConnected" for c in vmi["status"].get("conditions", [])))
    answer = cluster.http("PUT", SUB.format(ns=ns, plural="virtualmachineinstances", name="vm1", sub="pause"))
    assert answer.status == 200
    printable(custom, ns, "vm1", "Paused")
    answer = cluster.http("GET", SUB.format(ns=ns, plural="virtualmachineinstances", name="vm1", sub="guestosinfo"))
    assert answer.status == 200 and answer.json()["os"]["id"] == "fedora"


def test_webhook_denials_reach_the_client(cluster, apis, fresh_namespace):
    custom, _ = apis
    body = vm_body("bad")
    body["spec"]["running"] = True
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", body)
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith('admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
                                        "Running and RunStrategy are mutually exclusive")
    # KubeVirt's spec checks over the wire: a forwarded port beyond 65536 passes the CRD schema (int32)
    # and is refused by the network admitter with its field path.
    body = vm_body("ports")
    tspec = body["spec"]["template"]["spec"]
    tspec["domain"]["devices"]["interfaces"] = [{"name": "default", "masquerade": {}, "ports": [{"port": 70000}]}]
    tspec["networks"] = [{"name": "default", "pod": {}}]
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", body)
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "message": "Port field must be in range 0 < x < 65536.",
        "field": "spec.template.spec.domain.devices.interfaces[0].ports[0]"}]
    # An unknown instance type is admitted (KubeVirt >= 1.6); the VM reports it instead.
    body = vm_body("nosize")
    body["spec"]["instancetype"] = {"name": "u1.missing"}
    custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", body)
    vm = wait_for(lambda: get_vm(custom, fresh_namespace, "nosize"),
                  lambda v: any(c["type"] == "Failure" for c in v.get("status", {}).get("conditions", [])))
    failure = next(c for c in vm["status"]["conditions"] if c["type"] == "Failure")
    assert (failure["reason"], failure["message"]) == (
        "FailedFindInstancetype", 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "u1.missing" not found')
    assert vm["status"]["printableStatus"] == "Stopped"


def test_unschedulable_vm(cluster, apis, fresh_namespace):
    custom, _ = apis
    body = vm_body("huge")
    body["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = "512Gi"
    custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", body)
    vm = printable(custom, fresh_namespace, "huge", "ErrorUnschedulable")
    cond = next(c for c in vm["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["reason"] == "Unschedulable" and cond["message"].startswith("0/")
    custom.delete_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", "huge")


def test_eviction_is_429_and_migrates(cluster, apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines",
                                           vm_body("mig", evictionStrategy="LiveMigrate"))
    printable(custom, ns, "mig", "Running")
    wait_for(lambda: custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "mig"),
             lambda vmi: any(c["type"] == "LiveMigratable" for c in vmi["status"].get("conditions", [])))
    pod = core.list_namespaced_pod(ns, label_selector="kubevirt.io=virt-launcher").items[0]
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=ns))
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_pod_eviction(pod.metadata.name, ns, eviction)
    assert err.value.status == 429
    assert json.loads(err.value.body)["message"] == (
        'admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: '
        f'Eviction triggered evacuation of VMI "{ns}/mig"')
    migration = wait_for(lambda: custom.list_namespaced_custom_object(*KUBEVIRT, ns,
                                                                      "virtualmachineinstancemigrations")["items"],
                         lambda items: items and items[0].get("status", {}).get("phase") == "Succeeded")[0]
    assert migration["metadata"]["name"].startswith("kubevirt-evacuation-")
    vmi = custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "mig")
    assert vmi["status"]["nodeName"] != pod.spec.node_name and vmi["status"]["migrationState"]["completed"]


def test_kubectl_waits_for_ready(cluster, apis, fresh_namespace):
    custom, _ = apis
    custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", vm_body("kw"))
    result = subprocess.run([KUBECTL, "--kubeconfig", cluster.kubeconfig, "-n", fresh_namespace, "wait",
                             "--for=condition=Ready", "vm/kw", "--timeout=30s"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "condition met" in result.stdout
