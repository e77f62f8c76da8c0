"""Authentication (401), the restricted user's authorization (403), Projects and OpenShift config."""
from __future__ import annotations

import pytest

from .apitools import configmap


def test_missing_or_bad_token_is_401(cluster):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YTpi"}):
        answer = cluster.http("GET", "/api/v1/namespaces", headers=headers, user=None)
        assert answer.status == 401 and answer.content_type == "application/json"
        assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/apis/kubevirt.io/v1/virtualmachines",
     'virtualmachines.kubevirt.io is forbidden: User "restricted" cannot list resource "virtualmachines" in API '
     'group "kubevirt.io" at the cluster scope'),
    ("GET", "/api/v1/nodes",
     'nodes is forbidden: User "restricted" cannot list resource "nodes" in API group "" at the cluster scope'),
    ("GET", "/api/v1/namespaces/default/configmaps/x",
     'configmaps "x" is forbidden: User "restricted" cannot get resource "configmaps" in API group "" in the '
     'namespace "default"'),
    ("GET", "/api/v1/namespaces",
     'namespaces is forbidden: User "restricted" cannot list resource "namespaces" in API group "" at the '
     'cluster scope'),
    ("GET", "/api/v1/namespaces/default",
     'namespaces "default" is forbidden: User "restricted" cannot get resource "namespaces" in API group "" in '
     'the namespace "default"'),
    ("PUT", "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm1/start",
     'virtualmachines.subresources.kubevirt.io "vm1" is forbidden: User "restricted" cannot update resource '
     '"virtualmachines/start" in API group "subresources.kubevirt.io" in the namespace "default"'),
])
def test_restricted_user_forbidden(cluster, method, path, message):
    answer = cluster.http(method, path, {} if method == "PUT" else None, user="restricted")
    assert answer.status == 403 and answer.content_type == "application/json"
    body = answer.json()
    assert body["reason"] == "Forbidden" and body["message"] == message


def test_restricted_user_works_in_its_namespace(cluster):
    ns = cluster.restricted_namespaces[0]
    created = cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("mine", ns), user="restricted")
    assert created.status == 201
    listed = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps", user="restricted").json()
    assert "mine" in [i["metadata"]["name"] for i in listed["items"]]
    assert cluster.http("GET", f"/api/v1/namespaces/{ns}", user="restricted").status == 200
    assert cluster.http("DELETE", f"/api/v1/namespaces/{ns}/configmaps/mine", user="restricted").status == 200
    assert cluster.http("GET", "/apis", user="restricted").status == 200  # discovery is for everyone
    assert cluster.http("GET", "/openapi/v3", user="restricted").status == 200
    admin = cluster.http("GET", "/_admin/requests", user="restricted")
    assert admin.status == 403


def test_projects_are_filtered_not_forbidden(cluster):
    ns = cluster.restricted_namespaces[0]
    mine = cluster.http("GET", "/apis/project.openshift.io/v1/projects", user="restricted")
    assert mine.status == 200 and mine.json()["kind"] == "ProjectList"
    assert [p["metadata"]["name"] for p in mine.json()["items"]] == [ns]
    everything = cluster.http("GET", "/apis/project.openshift.io/v1/projects").json()
    assert {"default", "kube-system", "openshift-cnv", ns} <= {p["metadata"]["name"] for p in everything["items"]}
    project = cluster.http("GET", f"/apis/project.openshift.io/v1/projects/{ns}", user="restricted").json()
    assert project["kind"] == "Project" and project["status"]["phase"] == "Active"
    other = cluster.http("GET", "/apis/project.openshift.io/v1/projects/default", user="restricted")
    assert other.status == 403
    assert other.json()["message"] == ('projects.project.openshift.io "default" is forbidden: User "restricted" '
                                       'cannot get resource "projects" in API group "project.openshift.io" in the '
                                       'namespace "default"')


def test_project_create_and_delete_act_on_namespaces(cluster):
    created = cluster.http("POST", "/apis/project.openshift.io/v1/projects", {
        "apiVersion": "project.openshift.io/v1", "kind": "Project",
        "metadata": {"name": "made-by-project", "annotations": {"openshift.io/display-name": "Demo"}}})
    assert created.status == 201 and created.json()["kind"] == "Project"
    ns = cluster.http("GET", "/api/v1/namespaces/made-by-project").json()
    assert ns["metadata"]["annotations"]["openshift.io/display-name"] == "Demo"
    patched = cluster.http("PATCH", "/apis/project.openshift.io/v1/projects/made-by-project",
                           {"metadata": {"labels": {"team": "virt"}}},
                           content_type="application/merge-patch+json")
    assert patched.status == 200 and patched.json()["metadata"]["labels"]["team"] == "virt"
    deleted = cluster.http("DELETE", "/apis/project.openshift.io/v1/projects/made-by-project")
    assert deleted.status == 200 and deleted.json()["status"] == "Success"
    after = cluster.http("GET", "/api/v1/namespaces/made-by-project")
    assert after.status == 404 or after.json()["status"]["phase"] == "Terminating"


def test_openshift_dns_config(cluster):
    dns = cluster.http("GET", "/apis/config.openshift.io/v1/dnses/cluster").json()
    assert dns["kind"] == "DNS" and dns["spec"]["baseDomain"] == "local.ocp.test"


def test_restricted_context_with_the_kubernetes_client(cluster):
    from kubernetes import client
    api = client.CustomObjectsApi(cluster.api_client("restricted"))
    with pytest.raises(client.ApiException) as info:
        api.list_cluster_custom_object("kubevirt.io", "v1", "virtualmachines")
    assert info.value.status == 403
    listed = api.list_namespaced_custom_object("kubevirt.io", "v1", cluster.restricted_namespaces[0],
                                               "virtualmachines")
    assert listed["kind"] == "VirtualMachineList"
