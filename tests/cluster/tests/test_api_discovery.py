"""Discovery, OpenAPI and CRDs through real HTTP, as clients read them."""
from __future__ import annotations

import pytest


def test_version_and_core_group(cluster):
    version = cluster.http("GET", "/version").json()
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    api = cluster.http("GET", "/api").json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    assert api["serverAddressByClientCIDRs"][0]["serverAddress"] == cluster.url.split("//")[1]
    core = cluster.http("GET", "/api/v1").json()
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["kind"] == "Pod" and by_name["pods"]["shortNames"] == ["po"]
    assert by_name["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                        "group": "policy", "version": "v1", "kind": "Eviction",
                                        "verbs": ["create"]}
    assert by_name["namespaces"]["namespaced"] is False
    assert "deletecollection" not in by_name["namespaces"]["verbs"]


def test_group_list_preferred_version_matches_a_versions_entry(cluster):
    groups = {g["name"]: g for g in cluster.http("GET", "/apis").json()["groups"]}
    kubevirt = groups["kubevirt.io"]
    assert [v["version"] for v in kubevirt["versions"]] == ["v1", "v1alpha3"]
    # the kubernetes client compares whole dicts: identical keys and values
    assert kubevirt["preferredVersion"] == kubevirt["versions"][0]
    assert groups["subresources.kubevirt.io"]["preferredVersion"] == {
        "groupVersion": "subresources.kubevirt.io/v1", "version": "v1"}
    one = cluster.http("GET", "/apis/cdi.kubevirt.io").json()
    assert one["kind"] == "APIGroup" and one["preferredVersion"]["version"] == "v1beta1"


def test_resource_list_entries(cluster):
    data = cluster.http("GET", "/apis/kubevirt.io/v1").json()
    assert data["groupVersion"] == "kubevirt.io/v1"
    by_name = {r["name"]: r for r in data["resources"]}
    vm = by_name["virtualmachines"]
    assert vm["kind"] == "VirtualMachine" and vm["singularName"] == "virtualmachine"
    assert vm["namespaced"] is True and vm["shortNames"] == ["vm", "vms"] and vm["categories"] == ["all"]
    assert set(vm["verbs"]) == {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
    assert by_name["virtualmachines/status"]["verbs"] == ["get", "patch", "update"]
    assert "virtualmachineinstances" in by_name
    assert "virtualmachineinstances/status" not in by_name  # the VMI CRD has no status subresource


def test_virt_api_subresource_list_is_go_encoded(cluster):
    raw = cluster.http("GET", "/apis/subresources.kubevirt.io/v1")
    assert raw.status == 200
    data = raw.json()
    entry = next(r for r in data["resources"] if r["name"] == "virtualmachines/start")
    assert entry == {"name": "virtualmachines/start", "singularName": "", "namespaced": True, "kind": "",
                     "verbs": None}
    assert b'"verbs":null' in raw.body
    assert cluster.http("GET", "/apis/subresources.kubevirt.io/v1alpha3").status == 200


def test_aggregated_discovery_when_asked(cluster):
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    result = cluster.http("GET", "/apis", headers={"Accept": accept})
    assert result.content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    data = result.json()
    assert data["kind"] == "APIGroupDiscoveryList" and data["apiVersion"] == "apidiscovery.k8s.io/v2"
    kubevirt = next(i for i in data["items"] if i["metadata"].get("name") == "kubevirt.io")
    v1 = kubevirt["versions"][0]
    vm = next(r for r in v1["resources"] if r["resource"] == "virtualmachines")
    assert vm["responseKind"] == {"group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine"}
    assert vm["scope"] == "Namespaced" and [s["subresource"] for s in vm["subresources"]] == ["status"]
    core = cluster.http("GET", "/api", headers={"Accept": accept}).json()
    assert [v["version"] for v in core["items"][0]["versions"]] == ["v1"]
    plain = cluster.http("GET", "/apis", headers={"Accept": "application/json"})
    assert plain.content_type == "application/json" and plain.json()["kind"] == "APIGroupList"


def test_openshift_groups_and_discovery_only_types(cluster):
    groups = {g["name"] for g in cluster.http("GET", "/apis").json()["groups"]}
    assert {"project.openshift.io", "config.openshift.io", "route.openshift.io"} <= groups
    assert len(groups) > 100, "the openshift flavour serves the group list of a real OpenShift cluster"
    listed = cluster.http("GET", "/apis/operators.coreos.com/v1alpha1/clusterserviceversions").json()
    assert listed["kind"] == "ClusterServiceVersionList" and listed["items"] == []
    assert cluster.http("POST", "/apis/operators.coreos.com/v1alpha1/namespaces/default/clusterserviceversions",
                        {"metadata": {"name": "x"}}).status == 405


def test_unknown_paths(cluster):
    missing = cluster.http("GET", "/apis/kubevirt.io/v1/namespaces/default/nothings")
    assert missing.status == 404 and missing.content_type == "application/json"
    assert missing.json()["message"] == "the server could not find the requested resource"
    assert cluster.http("GET", "/apis/nothing.example.com/v1").status == 404
    assert cluster.http("GET", "/nothing").status == 404
    assert cluster.http("GET", "/healthz").body == b"ok"


def test_deprecated_version_warns_and_serves_its_apiversion(cluster, fresh_namespace):
    from .apitools import vm_manifest
    created = cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{fresh_namespace}/virtualmachines",
                           vm_manifest("old-api", fresh_namespace))
    assert created.status == 201, created.body
    got = cluster.http("GET", f"/apis/kubevirt.io/v1alpha3/namespaces/{fresh_namespace}/virtualmachines/old-api")
    assert got.status == 200
    assert got.json()["apiVersion"] == "kubevirt.io/v1alpha3"
    assert got.warnings == ["kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."]
    assert cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{fresh_namespace}/virtualmachines/old-api"
                        ).warnings == []


def test_crds_are_served_from_the_registry(cluster):
    crds = cluster.http("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions").json()
    names = {c["metadata"]["name"] for c in crds["items"]}
    assert {"virtualmachines.kubevirt.io", "datavolumes.cdi.kubevirt.io",
            "nodenetworkconfigurationpolicies.nmstate.io"} <= names
    crd = cluster.http("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                              "virtualmachines.kubevirt.io").json()
    assert crd["spec"]["names"]["shortNames"] == ["vm", "vms"] and crd["spec"]["scope"] == "Namespaced"
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    assert versions["v1"]["storage"] is True and versions["v1"]["subresources"] == {"status": {}}
    assert versions["v1alpha3"]["deprecated"] is True
    assert "spec" in versions["v1"]["schema"]["openAPIV3Schema"]["properties"]
    assert any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])


def test_openapi_v3(cluster):
    index = cluster.http("GET", "/openapi/v3")
    if index.status == 404:
        pytest.fail("api/openapi.py (schemas helper) is not serving /openapi/v3 yet")
    paths = index.json()["paths"]
    assert "apis/kubevirt.io/v1" in paths and "api/v1" in paths
    url = paths["apis/kubevirt.io/v1"]["serverRelativeURL"]
    doc = cluster.http("GET", url)
    assert doc.status == 200 and "components" in doc.json()


def test_dynamic_client_discovery(cluster):
    from kubernetes import dynamic
    client = dynamic.DynamicClient(cluster.api_client())
    vms = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")
    assert vms.namespaced and vms.name == "virtualmachines" and vms.preferred
    assert "status" in vms.subresources
    assert vms.short_names == ["vm", "vms"] and vms.singular_name == "virtualmachine"
    by_plural = client.resources.get(api_version="kubevirt.io/v1", name="virtualmachineinstances")
    assert by_plural.kind == "VirtualMachineInstance"
    # virt-api lists only names; the client keeps "expand-vm-spec" and drops parentless subresources
    expand = client.resources.get(api_version="subresources.kubevirt.io/v1", name="expand-vm-spec")
    assert expand.kind == "" and expand.namespaced
    pods = client.resources.get(api_version="v1", kind="Pod")
    assert "eviction" in pods.subresources


def test_kubernetes_flavor(cluster_factory):
    k8s = cluster_factory("--flavor", "kubernetes")
    groups = {g["name"] for g in k8s.http("GET", "/apis").json()["groups"]}
    assert "kubevirt.io" in groups and "project.openshift.io" not in groups
    assert "operators.coreos.com" not in groups
    namespaces = {n["metadata"]["name"] for n in k8s.http("GET", "/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system", "kubevirt", "restricted-ns"} <= namespaces
    assert "openshift-cnv" not in namespaces


def test_keep_alive_and_chunked_request_bodies(cluster, fresh_namespace):
    import http.client
    import json
    import ssl
    host, port = cluster.url.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=cluster.ca_file))
    headers = {"Authorization": f"Bearer {cluster.admin_token}"}
    try:
        for _ in range(3):
            conn.request("GET", "/version", headers=headers)
            assert conn.getresponse().read()
        sock = conn.sock
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chunked"}}).encode()
        conn.request("POST", f"/api/v1/namespaces/{fresh_namespace}/configmaps", body=iter([body[:10], body[10:]]),
                     headers=dict(headers, **{"Content-Type": "application/json"}), encode_chunked=True)
        answer = conn.getresponse()
        assert answer.status == 201 and json.loads(answer.read())["metadata"]["namespace"] == fresh_namespace
        assert conn.sock is sock, "one connection served every request"
    finally:
        conn.close()
