# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``ansible-inventory`` with ``virt.kubevirt.kubevirt`` against the local test cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import plain

HOSTILE_TEMPLATE = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}"


def admin(cluster, **config):
    return dict({"kubeconfig": cluster.kubeconfig, "context": "local"}, **config)


def list_requests(run):
    return [r for r in run.requests if r["verb"] == "list"]


@pytest.fixture(scope="module")
def fleet(cluster, objects):
    """One namespace with a running VM, a stopped VM, a Windows VM and Services."""
    ns = objects.namespace("fleet")
    objects.cluster_instancetype("u1.small")
    objects.vm(ns, "web", labels={"app": "web", "env": "prod"}, instancetype="u1.small")
    objects.vm(ns, "halted", running=False, labels={"app": "db"})
    objects.vm(ns, "win", image="registry.example.com/windows/win2k22-containerdisk:latest",
               template_annotations={"vm.kubevirt.io/os": "windows2k22"})
    objects.vm(ns, "lb", labels={"app": "lb"})
    objects.service(ns, "web-ssh", "web", "NodePort", 22, 22, node_port=30122)
    objects.service(ns, "win-winrm", "win", "LoadBalancer", 5986, 5986, ingress=[{"ip": "192.0.2.10"}])
    objects.service(ns, "lb-ssh", "lb", "LoadBalancer", 2022, 22, ingress=[{"hostname": "lb.apps.example.com"}])
    vmis = objects.wait_running(ns, "web", "win", "lb")
    return ns, vmis


def test_running_vms_are_hosts_with_kubevirt_core_names(cluster, inventory, fleet):
    ns, vmis = fleet
    run = inventory.run(cluster, inventory.source(admin(cluster)))
    hostvars = run.hostvars
    web = plain(hostvars["%s-web" % ns])
    assert "%s-halted" % ns not in hostvars
    node = vmis["web"]["status"]["nodeName"]
    # NodePort Service for SSH: the VM's node and the node port.
    assert (web["ansible_host"], web["ansible_port"]) == (node, 30122)
    assert web["vm_labels"] == {"app": "web", "env": "prod"}
    assert web["vm_printable_status"] == "Running" and web["vmi_phase"] == "Running"
    assert web["vmi_node_name"] == node and web["vmi_interfaces"][0]["ipAddress"]
    assert web["vmi_guest_os_info"]["id"] == "fedora"
    assert web["vm_instancetype"] == "u1.small"
    assert "%s-web" % ns in run.hosts("namespace_%s" % ns.replace("-", "_"))
    assert "%s-web" % ns in run.hosts("node_%s" % node)
    assert "%s-web" % ns in run.hosts("status_running") and "%s-web" % ns in run.hosts("os_fedora")
    assert "%s-web" % ns in run.hosts("instancetype_u1_small")
    # Ansible's rule for group names: invalid characters (and a leading digit) become "_".
    cluster_group = re.sub(r"^[\d\W]|[^\w]", "_", web["kubevirt_cluster"])
    assert "%s-web" % ns in run.hosts(cluster_group)
    assert run.writes == []


def test_windows_guest_uses_winrm_service(cluster, inventory, fleet):
    ns = fleet[0]
    run = inventory.run(cluster, inventory.source(admin(cluster)))
    win = plain(run.hostvars["%s-win" % ns])
    assert win["ansible_connection"] == "winrm"
    assert (win["ansible_host"], win["ansible_port"]) == ("192.0.2.10", 5986)
    assert win["vmi_guest_os_info"]["id"] == "mswindows"
    assert "%s-win" % ns in run.hosts("os_windows")
    lb = plain(run.hostvars["%s-lb" % ns])
    assert (lb["ansible_host"], lb["ansible_port"]) == ("lb.apps.example.com", 2022)


def test_without_services_the_vm_address_is_used(cluster, inventory, fleet):
    ns, vmis = fleet
    run = inventory.run(cluster, inventory.source(admin(cluster, use_service=False)))
    web = plain(run.hostvars["%s-web" % ns])
    assert web["ansible_host"] == vmis["web"]["status"]["interfaces"][0]["ipAddress"]
    assert web["ansible_port"] is None
    assert sorted(r["path"].rsplit("/", 1)[-1] for r in list_requests(run)) == [
        "virtualmachineinstances", "virtualmachines",
    ]


def test_stopped_vms_with_include_stopped(cluster, inventory, fleet):
    ns = fleet[0]
    run = inventory.run(cluster, inventory.source(admin(cluster, include_stopped=True)))
    halted = plain(run.hostvars["%s-halted" % ns])
    assert "ansible_host" not in halted and halted["vm_printable_status"] == "Stopped"
    assert "%s-halted" % ns in run.hosts("status_stopped")
    assert "%s-halted" % ns not in run.hosts("status_running")


def test_one_cluster_wide_list_per_resource_type(cluster, inventory, objects, fleet):
    source = inventory.source(admin(cluster))
    before = inventory.run(cluster, source)
    for dummy in range(5):
        extra = objects.namespace("more")
        objects.vm(extra, "vm", running=False)
    after = inventory.run(cluster, source)
    for run in (before, after):
        lists = list_requests(run)
        assert sorted(r["path"] for r in lists) == [
            "/api/v1/services",
            "/apis/kubevirt.io/v1/virtualmachineinstances",
            "/apis/kubevirt.io/v1/virtualmachines",
        ]
        assert all("limit=500" in r["query"] for r in lists)
        assert len(run.requests) == 3, run
    assert len(after.requests) == len(before.requests)


def test_graph_and_kubevirt_core_style_compose_and_keyed_groups(cluster, inventory, fleet):
    ns = fleet[0]
    source = inventory.source(admin(
        cluster,
        name="lab",
        create_groups=True,
        compose={"ansible_user": "'cloud-user'", "os_name": "vmi_guest_os_info.name | default('unknown')"},
        groups={"production": "vm_labels.env | default('') == 'prod'"},
        keyed_groups=[
            {"key": "vm_labels.app | default('none')", "prefix": "app"},
            {"key": "vmi_node_name", "prefix": "host"},
            {"key": "kubevirt_cluster ~ '_' ~ vm_namespace", "prefix": "where"},
        ],
    ))
    run = inventory.run(cluster, source)
    web = "%s-web" % ns
    assert plain(run.hostvars[web])["ansible_user"] == "cloud-user"
    assert plain(run.hostvars[web])["os_name"] == "Fedora Linux"
    assert web in run.hosts("production") and web in run.hosts("app_web") and web in run.hosts("label_app_web")
    assert web in run.hosts("where_lab_%s" % ns.replace("-", "_"))
    graph = inventory.run(cluster, source, "--graph")
    assert graph.returncode == 0, graph
    assert "@lab:" in graph.stdout and "@namespace_%s:" % ns.replace("-", "_") in graph.stdout


def test_excluded_host_vars_leave_the_output_but_feed_expressions(cluster, inventory, fleet):
    ns = fleet[0]
    source = inventory.source(admin(
        cluster,
        exclude_host_vars=["vm_*", "vmi_*"],
        compose={"os_name": "vmi_guest_os_info.name | default('unknown')"},
        keyed_groups=[{"key": "vm_labels.app | default('none')", "prefix": "app"}],
        strict=True,
    ))
    run = inventory.run(cluster, source)
    web = plain(run.hostvars["%s-web" % ns])
    assert web["os_name"] == "Fedora Linux" and web["ansible_host"]
    assert not [name for name in web if name.startswith(("vm_", "vmi_"))]
    assert "%s-web" % ns in run.hosts("app_web")


def test_hostile_annotations_and_labels_are_never_templated(cluster, inventory, objects, tmp_path):
    marker = tmp_path / "pwned"
    hostile = HOSTILE_TEMPLATE % marker
    ns = objects.namespace("hostile")
    objects.vm(ns, "evil", annotations={"note": hostile}, template_annotations={"note": hostile})
    objects.wait_running(ns, "evil")
    source = inventory.source(admin(
        cluster,
        namespaces=[ns],
        compose={"note_copy": "vm_annotations['note']", "vmi_note": "vmi_annotations.note"},
        keyed_groups=[{"key": "vm_annotations.note", "prefix": "note"}],
    ))
    run = inventory.run(cluster, source)
    evil = plain(run.hostvars["%s-evil" % ns])
    assert evil["note_copy"] == hostile and evil["vmi_note"] == hostile
    # ansible-inventory marks the values untrusted, and nothing ran.
    assert run.hostvars["%s-evil" % ns]["note_copy"] == {"__ansible_unsafe": hostile}
    assert not marker.exists()
    # A playbook using the variables must see the literal text, not run it.
    play = [{
        "hosts": "%s-evil" % ns, "gather_facts": False, "connection": "local",
        "tasks": [{"ansible.builtin.debug": {"msg": "{{ note_copy }} {{ vm_annotations.note }}"}}],
    }]
    result = inventory.playbook(source, play)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "touch %s" % marker in result.stdout
    assert not marker.exists()


def test_secondary_network_and_kube_secondary_dns(cluster, inventory, objects):
    ns = objects.namespace("multus")
    objects.network(ns, "storage-net")
    objects.vm(
        ns, "db",
        networks=[{"name": "default", "pod": {}}, {"name": "storage", "multus": {"networkName": "storage-net"}}],
        interfaces=[{"name": "default", "masquerade": {}}, {"name": "storage", "bridge": {}}],
    )
    vmi = objects.wait_running(ns, "db", interface="storage")["db"]
    secondary = next(i for i in vmi["status"]["interfaces"] if i.get("name") == "storage")
    assert secondary.get("ipAddress"), vmi["status"]["interfaces"]
    run = inventory.run(cluster, inventory.source(admin(cluster, namespaces=[ns], network_name="storage")))
    assert plain(run.hostvars["%s-db" % ns])["ansible_host"] == secondary["ipAddress"]
    # No Services are read when a network is named.
    assert not any("services" in r["path"] for r in run.requests)
    run = inventory.run(cluster, inventory.source(admin(
        cluster, namespaces=[ns], network_name="storage", kube_secondary_dns=True)))
    dns = [r for r in run.requests if r["path"] == "/apis/config.openshift.io/v1/dnses/cluster"]
    assert len(dns) == 1 and dns[0]["status"] == 200
    host = plain(run.hostvars["%s-db" % ns])["ansible_host"]
    assert host.startswith("storage.db.%s.vm." % ns) and len(host) > len("storage.db.%s.vm." % ns)


def test_restricted_user_falls_back_to_visible_projects(cluster, inventory, objects):
    ns = cluster.restricted_namespaces[0]
    objects.vm(ns, "mine")
    objects.wait_running(ns, "mine")
    run = inventory.run(cluster, inventory.source({"kubeconfig": cluster.kubeconfig, "context": "restricted"}))
    assert "%s-mine" % ns in run.hostvars, run
    assert all(r["user"] == "restricted" for r in run.requests)
    forbidden = [r for r in run.requests if r["status"] == 403]
    assert sorted(r["path"] for r in forbidden) == [
        "/api/v1/services",
        "/apis/kubevirt.io/v1/virtualmachineinstances",
        "/apis/kubevirt.io/v1/virtualmachines",
    ]
    assert any(r["path"] == "/apis/project.openshift.io/v1/projects" and r["status"] == 200 for r in run.requests)
    per_namespace = sorted(r["path"] for r in run.requests if r["status"] == 200 and "/namespaces/" in r["path"])
    assert per_namespace == [
        "/api/v1/namespaces/%s/services" % ns,
        "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances" % ns,
        "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines" % ns,
    ]


def test_restricted_user_on_kubernetes_needs_namespaces(cluster_factory, inventory, tmp_path):
    other = cluster_factory("--flavor", "kubernetes")
    source = inventory.source({"kubeconfig": other.kubeconfig, "context": "restricted", "name": "plain"})
    run = inventory.run(other, source)
    assert run.returncode != 0
    assert "cluster plain (%s)" % other.url in run.stderr and "set the namespaces option" in run.stderr
    assert "Traceback" not in run.stderr
    source = inventory.source({"kubeconfig": other.kubeconfig, "context": "restricted", "name": "plain",
                               "namespaces": other.restricted_namespaces})
    run = inventory.run(other, source)
    assert run.returncode == 0, run
    assert not any(r["status"] == 403 for r in run.requests)


def test_two_clusters_in_one_source(cluster, cluster_factory, inventory, objects):
    from .conftest import Objects

    second = cluster_factory()
    other = Objects(second)
    ns = other.namespace("east")
    other.vm(ns, "app")
    other.wait_running(ns, "app")
    ns_here = objects.namespace("west")
    objects.vm(ns_here, "app")
    objects.wait_running(ns_here, "app")
    source = inventory.source({
        "host_format": "{cluster}-{namespace}-{name}",
        "connections": [
            {"kubeconfig": cluster.kubeconfig, "context": "local", "name": "west", "namespaces": [ns_here]},
            {"kubeconfig": second.kubeconfig, "context": "local", "name": "east"},
        ],
    })
    run = inventory.run(cluster, source)
    assert "west-%s-app" % ns_here in run.hostvars and "east-%s-app" % ns in run.hostvars
    assert plain(run.hostvars["east-%s-app" % ns])["kubevirt_cluster"] == "east"
    assert run.hosts("east") == sorted(h for h in run.hostvars if h.startswith("east-"))
    assert "west-%s-app" % ns_here in run.hosts("west") and "west-%s-app" % ns_here not in run.hosts("east")


def test_cache_hit_sends_no_request(cluster, inventory, fleet, tmp_path):
    config = admin(cluster, cache=True, cache_plugin="ansible.builtin.jsonfile",
                   cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    source = inventory.source(config)
    first = inventory.run(cluster, source)
    assert len(first.requests) == 3
    second = inventory.run(cluster, source)
    assert second.requests == []
    assert second.data == first.data
    flushed = inventory.run(cluster, source, "--list", "--flush-cache")
    assert len(flushed.requests) == 3


def test_aap_credential_environment_and_export(cluster, inventory, fleet):
    """What an AAP inventory sync does: a bare source, the OpenShift/Kubernetes bearer-token credential
    injected as K8S_AUTH_* variables, and ``ansible-inventory --list --export``."""
    ns = fleet[0]
    source = inventory.source({}, name="aap.kubevirt.yml")
    env = {"K8S_AUTH_HOST": cluster.url, "K8S_AUTH_API_KEY": cluster.admin_token,
           "K8S_AUTH_VERIFY_SSL": "true", "K8S_AUTH_SSL_CA_CERT": cluster.ca_file, "KUBECONFIG": "/nonexistent"}
    run = inventory.run(cluster, source, "--list", "--export", env=env)
    assert "%s-web" % ns in run.hostvars and "%s-halted" % ns not in run.hostvars
    assert plain(run.hostvars["%s-web" % ns])["vm_labels"]["app"] == "web"
    assert cluster.admin_token not in run.stdout + run.stderr
    assert {r["verb"] for r in run.requests} == {"list"} and not run.writes


def test_bad_token_is_one_clear_line(cluster, inventory):
    source = inventory.source({"host": cluster.url, "api_key": "not-a-token", "ca_cert": cluster.ca_file, "name": "prod"})
    run = inventory.run(cluster, source)
    assert run.returncode != 0
    assert "cluster prod (%s)" % cluster.url in run.stderr and "401" in run.stderr
    assert "not-a-token" not in run.stderr and "Traceback" not in run.stderr


def test_unreachable_api_is_one_clear_line(inventory, cluster):
    source = inventory.source({"host": "https://127.0.0.1:9", "api_key": "x", "ca_cert": cluster.ca_file})
    run = inventory.run(None, source)
    assert run.returncode != 0
    assert "cluster 127-0-0-1_9 (https://127.0.0.1:9)" in run.stderr and "cannot reach the API server" in run.stderr
    assert "Traceback" not in run.stderr


def test_tls_verification_is_on_by_default(cluster, inventory):
    source = inventory.source({"host": cluster.url, "api_key": cluster.admin_token})
    run = inventory.run(cluster, source)
    assert run.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in run.stderr.replace(" ", "_").upper()
    assert cluster.admin_token not in run.stderr


def test_source_file_name_must_end_with_kubevirt_yml(cluster, inventory):
    path = inventory.source(admin(cluster), name="inventory.yml")
    run = inventory.run(cluster, Path(path))
    assert run.returncode != 0 and run.requests == []


def test_paginated_lists_of_a_seeded_cluster(cluster_factory, inventory):
    seeded = cluster_factory("--seed-vms", "1200", "--seed-namespaces", "40")
    from kubernetes import client as k8s

    api = k8s.CustomObjectsApi(seeded.api_client())
    vmis = api.list_cluster_custom_object("kubevirt.io", "v1", "virtualmachineinstances")["items"]
    running = {"%s-%s" % (v["metadata"]["namespace"], v["metadata"]["name"]) for v in vmis
               if v.get("status", {}).get("phase") == "Running"}
    assert len(running) > 500
    run = inventory.run(seeded, inventory.source({"kubeconfig": seeded.kubeconfig, "context": "local"}))
    assert set(run.hostvars) == running
    pages = {}
    for request in list_requests(run):
        pages.setdefault(request["path"], []).append(request["query"])
    assert len(pages["/apis/kubevirt.io/v1/virtualmachines"]) == 3  # 1200 VMs, 500 a page
    assert len(pages["/apis/kubevirt.io/v1/virtualmachineinstances"]) == -(-len(vmis) // 500)
    assert all("continue=" in query for query in pages["/apis/kubevirt.io/v1/virtualmachines"][1:])
    windows = [h for h, v in run.hostvars.items() if plain(v).get("ansible_connection") == "winrm"]
    assert windows and set(windows) <= set(run.hosts("os_windows"))
