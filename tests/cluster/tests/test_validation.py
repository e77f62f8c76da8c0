"""Pruning, defaulting and validation of writes, with kube-apiserver's messages."""
from __future__ import annotations

import copy

import pytest

from tests.cluster.api import schemas
from tests.cluster.api.errors import ApiError
from tests.cluster.api.validation import prepare

VM_DV = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "fedora-dv", "namespace": "demo", "labels": {"app": "fedora"}},
    "spec": {
        "runStrategy": "Always",
        "dataVolumeTemplates": [{
            "metadata": {"name": "fedora-dv-root", "annotations": {"cdi.kubevirt.io/storage.bind.immediate": "true"}},
            "spec": {"source": {"http": {"url": "https://example.com/fedora.qcow2"}},
                     "storage": {"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem",
                                 "resources": {"requests": {"storage": "20Gi"}}}}}],
        "template": {
            "metadata": {"labels": {"kubevirt.io/domain": "fedora-dv"}},
            "spec": {
                "domain": {"cpu": {"cores": 2}, "memory": {"guest": "2Gi"},
                           "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}],
                                       "interfaces": [{"name": "default", "masquerade": {}}]}},
                "networks": [{"name": "default", "pod": {}}],
                "volumes": [{"name": "root", "dataVolume": {"name": "fedora-dv-root"}}]}}}}

VM_CD = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "cirros", "namespace": "demo"},
    "spec": {
        "runStrategy": "Halted",
        "template": {"spec": {
            "domain": {"resources": {"requests": {"memory": "128Mi", "cpu": "100m"}},
                       "devices": {"disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}},
                                             {"name": "cloudinitdisk", "disk": {"bus": "virtio"}}]}},
            "volumes": [{"name": "containerdisk", "containerDisk": {"image": "quay.io/kubevirt/cirros-container-disk-demo"}},
                        {"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "#cloud-config\npassword: x\n"}}]}}}}

NNCP = {
    "apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "br1-bond"},
    "spec": {"desiredState": {"interfaces": [
        {"name": "bond0", "type": "bond", "state": "up", "mtu": 1450,
         "link-aggregation": {"mode": "balance-alb", "options": {"miimon": "100"}, "port": ["eth2", "eth3"]}},
        {"name": "br1", "type": "linux-bridge", "state": "up",
         "bridge": {"options": {"stp": {"enabled": False}}, "port": [{"name": "bond0"}]}}]}}}

NAD = {
    "apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
    "metadata": {"name": "vlan-93", "namespace": "demo"},
    "spec": {"config": '{"cniVersion": "0.3.1", "name": "vlan-93", "type": "cnv-bridge", "bridge": "br1", '
                       '"vlan": 93, "macspoofchk": true}'}}


def run(reg, gr, obj, mode="Strict", operation="CREATE", old=None, version=None, subresource=""):
    rtype = reg.get(gr)
    return prepare(rtype, obj, version=version or rtype.version, operation=operation, field_validation=mode,
                   old=old, subresource=subresource)


def failure(reg, gr, obj, **kw) -> ApiError:
    with pytest.raises(ApiError) as err:
        run(reg, gr, obj, **kw)
    return err.value


VM = ("kubevirt.io", "virtualmachines")


@pytest.mark.parametrize("gr,fixture", [
    (VM, VM_DV), (VM, VM_CD), (("nmstate.io", "nodenetworkconfigurationpolicies"), NNCP),
    (("k8s.cni.cncf.io", "network-attachment-definitions"), NAD)])
def test_real_manifests_pass_strict_unchanged(reg, gr, fixture):
    obj = copy.deepcopy(fixture)
    assert run(reg, gr, obj) == []
    assert obj == fixture


def test_null_running_next_to_run_strategy_is_pruned(reg):
    obj = copy.deepcopy(VM_DV)
    obj["spec"]["running"] = None
    assert run(reg, VM, obj) == []
    assert "running" not in obj["spec"] and obj["spec"]["runStrategy"] == "Always"


def test_strict_unknown_fields_are_400_sorted_and_joined(reg):
    obj = copy.deepcopy(VM_DV)
    obj["spec"]["template"]["spec"]["foo"] = 1
    obj["spec"]["bar"] = True
    obj["metadata"]["colour"] = "red"
    err = failure(reg, VM, obj)
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == ('strict decoding error: unknown field "metadata.colour", unknown field "spec.bar", '
                           'unknown field "spec.template.spec.foo"')


def test_warn_prunes_and_warns_per_field(reg):
    obj = copy.deepcopy(VM_DV)
    obj["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["foo"] = "x"
    warnings = run(reg, VM, obj, mode="Warn")
    assert warnings == ['unknown field "spec.template.spec.domain.devices.disks[0].foo"']
    assert "foo" not in obj["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]


def test_ignore_prunes_silently(reg):
    obj = copy.deepcopy(VM_CD)
    obj["spec"]["foo"] = 1
    assert run(reg, VM, obj, mode="Ignore") == []
    assert "foo" not in obj["spec"]


def test_preserve_unknown_fields_keep_arbitrary_content(reg):
    obj = copy.deepcopy(NNCP)
    obj["spec"]["desiredState"]["routes"] = {"config": [{"destination": "0.0.0.0/0"}]}
    assert run(reg, ("nmstate.io", "nodenetworkconfigurationpolicies"), obj) == []
    assert obj["spec"]["desiredState"]["routes"] == {"config": [{"destination": "0.0.0.0/0"}]}
    dv_meta = copy.deepcopy(VM_DV)
    dv_meta["spec"]["dataVolumeTemplates"][0]["metadata"]["whatever"] = 1
    assert run(reg, VM, dv_meta) == []


def test_invalid_memory_quantity_names_the_field(reg):
    obj = copy.deepcopy(VM_DV)
    obj["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = "2 GB"
    err = failure(reg, VM, obj)
    assert (err.code, err.reason) == (422, "Invalid")
    pattern = schemas.schema_for(reg.get(VM))["properties"]["spec"]["properties"]["template"]["properties"][
        "spec"]["properties"]["domain"]["properties"]["memory"]["properties"]["guest"]["pattern"]
    assert err.message == (
        'VirtualMachine.kubevirt.io "fedora-dv" is invalid: spec.template.spec.domain.memory.guest: Invalid value: '
        f'"2 GB": spec.template.spec.domain.memory.guest in body should match \'{pattern}\'')
    assert err.details["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.template.spec.domain.memory.guest",
        "message": f'Invalid value: "2 GB": spec.template.spec.domain.memory.guest in body should match \'{pattern}\''}]
    assert err.details["kind"] == "VirtualMachine" and err.details["group"] == "kubevirt.io"


def test_int_or_string_accepts_integers_and_rejects_booleans(reg):
    obj = copy.deepcopy(VM_CD)
    obj["spec"]["template"]["spec"]["domain"]["resources"]["requests"]["memory"] = 134217728
    assert run(reg, VM, obj) == []
    obj["spec"]["template"]["spec"]["domain"]["resources"]["requests"]["memory"] = True
    err = failure(reg, VM, obj)
    assert err.details["causes"][0]["message"] == (
        'Invalid value: "boolean": spec.template.spec.domain.resources.requests.memory in body must be of type '
        'integer,string: "boolean"')


def test_type_errors_use_kube_openapi_wording(reg):
    obj = copy.deepcopy(VM_CD)
    obj["spec"]["running"] = "yes"
    obj["spec"]["template"]["spec"]["domain"]["cpu"] = {"cores": "two"}
    err = failure(reg, VM, obj)
    assert err.message == (
        'VirtualMachine.kubevirt.io "cirros" is invalid: ['
        'spec.running: Invalid value: "string": spec.running in body must be of type boolean: "string", '
        'spec.template.spec.domain.cpu.cores: Invalid value: "string": spec.template.spec.domain.cpu.cores in body '
        'must be of type integer: "string"]')
    assert {c["reason"] for c in err.details["causes"]} == {"FieldValueTypeInvalid"}


def test_required_enum_and_max_items(reg):
    obj = copy.deepcopy(VM_DV)
    del obj["spec"]["template"]["spec"]["domain"]["devices"]
    obj["spec"]["dataVolumeTemplates"][0]["spec"]["contentType"] = "iso"
    obj["spec"]["template"]["spec"]["networks"] = [{"name": f"n{i}", "pod": {}} for i in range(257)]
    causes = {c["field"]: c for c in failure(reg, VM, obj).details["causes"]}
    assert causes["spec.template.spec.domain.devices"]["message"] == "Required value"
    assert causes["spec.template.spec.domain.devices"]["reason"] == "FieldValueRequired"
    assert causes["spec.dataVolumeTemplates[0].spec.contentType"]["message"] == (
        'Unsupported value: "iso": supported values: "kubevirt", "archive"')
    assert causes["spec.template.spec.networks"]["message"] == "Too many: 257: must have at most 256 items"


def test_cel_rules_of_the_crd(reg):
    obj = copy.deepcopy(VM_CD)
    obj["spec"]["template"]["spec"]["volumes"].append({"name": "p", "containerPath": {"path": "relative"}})
    cause = failure(reg, VM, obj).details["causes"][0]
    assert cause == {"reason": "FieldValueInvalid", "field": "spec.template.spec.volumes[2].containerPath.path",
                     "message": "Invalid value: \"string\": path must be absolute (start with '/')"}


def test_defaults_applied_for_custom_resources(reg):
    obj = copy.deepcopy(VM_CD)
    obj["spec"]["template"]["spec"]["volumes"].append({"name": "cm", "configMap": {}})
    run(reg, VM, obj)
    assert obj["spec"]["template"]["spec"]["volumes"][2]["configMap"] == {"name": ""}


def test_metadata_name_rules(reg):
    obj = copy.deepcopy(VM_CD)
    obj["metadata"]["name"] = "My_VM"
    cause = failure(reg, VM, obj).details["causes"][0]
    assert cause["field"] == "metadata.name"
    assert cause["message"].startswith('Invalid value: "My_VM": a lowercase RFC 1123 subdomain must consist of')
    ns = failure(reg, ("", "namespaces"), {"metadata": {"name": "a.b"}})
    assert "a lowercase RFC 1123 label must consist" in ns.message and ns.message.startswith('Namespace "a.b" is invalid')
    svc = failure(reg, ("", "services"), {"metadata": {"name": "1svc"}, "spec": {}})
    assert "a DNS-1035 label must consist" in svc.message
    assert run(reg, VM, dict(copy.deepcopy(VM_CD), metadata={"generateName": "cirros-", "namespace": "demo"})) == []


def test_label_values_are_checked(reg):
    obj = copy.deepcopy(VM_CD)
    obj["metadata"]["labels"] = {"app": "has space"}
    cause = failure(reg, VM, obj).details["causes"][0]
    assert cause["field"] == "metadata.labels"
    assert cause["message"].startswith('Invalid value: "has space": a valid label must be an empty string')


def test_update_ratchets_unchanged_invalid_values(reg):
    old = copy.deepcopy(VM_CD)
    old["spec"]["template"]["spec"]["domain"]["memory"] = {"guest": "2 GB"}
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"touched": "yes"}
    assert run(reg, VM, new, operation="UPDATE", old=old) == []
    new["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = "3 GB"
    assert failure(reg, VM, new, operation="UPDATE", old=old).code == 422


def test_status_is_not_validated_on_main_resource_writes(reg):
    obj = copy.deepcopy(VM_CD)
    obj["status"] = {"ready": "yes"}
    assert run(reg, VM, obj) == []
    err = failure(reg, VM, copy.deepcopy(obj), operation="UPDATE", subresource="status")
    assert err.details["causes"][0]["field"] == "status.ready"


# -- built-in types ----------------------------------------------------------------------------
def test_pod_unknown_fields_and_go_defaults(reg):
    pod = {"metadata": {"name": "p", "namespace": "demo"},
           "spec": {"containers": [{"name": "c", "image": "busybox", "foo": 1,
                                    "env": [{"name": "A", "value": "1", "bogus": 2}]}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}}
    warnings = run(reg, ("", "pods"), pod, mode="Warn")
    assert warnings == ['unknown field "spec.containers[0].env[0].bogus"', 'unknown field "spec.containers[0].foo"']
    spec = pod["spec"]
    assert spec["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    assert spec["restartPolicy"] == "Always" and spec["containers"][0]["imagePullPolicy"] == "Always"
    assert spec["containers"][0]["env"] == [{"name": "A", "value": "1"}]


def test_pod_without_containers_and_duplicates(reg):
    err = failure(reg, ("", "pods"), {"metadata": {"name": "p"}, "spec": {}})
    assert err.message == 'Pod "p" is invalid: spec.containers: Required value'
    dup = failure(reg, ("", "pods"), {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]}})
    assert dup.details["causes"][0] == {"reason": "FieldValueDuplicate", "field": "spec.containers[1].name",
                                        "message": 'Duplicate value: "c"'}


def test_builtin_type_mismatch_is_a_400_decode_error(reg):
    err = failure(reg, ("", "pods"), {"metadata": {"name": "p"}, "spec": {"containers": "x"}})
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message.startswith('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string')


def test_builtin_quantities_are_parsed(reg):
    pvc = {"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "20 GB"}}}}
    err = failure(reg, ("", "persistentvolumeclaims"), pvc)
    assert err.message == ('PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: '
                           "quantities must match the regular expression "
                           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    pvc["spec"]["resources"]["requests"]["storage"] = "20Gi"
    assert run(reg, ("", "persistentvolumeclaims"), pvc) == []
    assert pvc["spec"]["volumeMode"] == "Filesystem"


def test_secret_data_must_be_base64(reg):
    err = failure(reg, ("", "secrets"), {"metadata": {"name": "s"}, "data": {"k": "not base64!"}})
    assert err.message == 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3'
    secret = {"metadata": {"name": "s"}, "stringData": {"k": "v"}, "data": {"a": "aGVsbG8="}}
    assert run(reg, ("", "secrets"), secret) == []
    assert secret["type"] == "Opaque"


def test_service_defaults(reg):
    svc = {"metadata": {"name": "ssh"}, "spec": {"ports": [{"port": 22}], "selector": {"vm": "x"}}}
    assert run(reg, ("", "services"), svc) == []
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"port": 22, "protocol": "TCP", "targetPort": 22}]


def test_builtin_unknown_metadata_field_strict(reg):
    err = failure(reg, ("", "configmaps"), {"metadata": {"name": "c", "lables": {"a": "b"}}, "data": {"a": "b"}})
    assert err.message == 'strict decoding error: unknown field "metadata.lables"'


def test_minimum_violation_is_invalid_not_a_crash():
    """KubeVirt CR memoryOvercommit has minimum 10: a lower value is 422 naming the field."""
    from tests.cluster.api.catalog import build_registry
    from tests.cluster.api.errors import ApiError
    from tests.cluster.api.schemas import attach_schemas
    from tests.cluster.api.validation import prepare

    registry = build_registry("kubernetes")
    attach_schemas(registry, "kubernetes")
    kubevirt = registry.get(("kubevirt.io", "kubevirts"))
    obj = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
           "spec": {"configuration": {"developerConfiguration": {"memoryOvercommit": 5}}}}
    try:
        prepare(kubevirt, obj, version="v1", operation="CREATE", field_validation="Strict")
    except ApiError as err:
        assert err.code == 422
        assert "spec.configuration.developerConfiguration.memoryOvercommit" in err.message
        assert "greater than or equal to 10" in err.message
    else:
        raise AssertionError("memoryOvercommit 5 was accepted")
