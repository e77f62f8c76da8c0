# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES tasks of virt.kubevirt.vm, as installed, run in order on the local cluster.

The tasks are taken unchanged; the connection comes from ``module_defaults`` for the action group,
HOME holds the SSH public key the first example looks up, and the objects the examples refer to
(namespaces, the golden image's DataSource, the VLAN network, the key Secret) are made first, on
a cluster of its own: the examples use fixed namespaces (vms, prod) that other tests use too.
Each example runs for real, then once more, which must change nothing.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import yaml

from .conftest import Runner, _tool, module_examples

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG7Hc3kEXAMPLEKEYexampleKEYexampleKEY0 ops@example\n"


def _prerequisites(cluster):
    from kubernetes import client as k8s

    api = cluster.api_client()
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    for ns in ("vms", "prod", "openshift-virtualization-os-images"):
        try:
            core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        except k8s.ApiException as exc:
            assert exc.status == 409  # the openshift flavour may have it already
    core.create_namespaced_secret("prod", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ops-keys"},
                                           "stringData": {"key": PUBLIC_KEY}})
    custom.create_namespaced_custom_object("k8s.cni.cncf.io", "v1", "prod", "network-attachment-definitions", {
        "apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition", "metadata": {"name": "vlan20"},
        "spec": {"config": json.dumps({"cniVersion": "0.3.1", "name": "vlan20", "type": "bridge", "bridge": "br1", "vlan": 20})}})
    custom.create_namespaced_custom_object("cdi.kubevirt.io", "v1beta1", "openshift-virtualization-os-images", "datavolumes", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "rhel9-golden"},
        "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "40Gi"}}}}})
    custom.create_namespaced_custom_object("cdi.kubevirt.io", "v1beta1", "openshift-virtualization-os-images", "datasources", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource", "metadata": {"name": "rhel9"},
        "spec": {"source": {"pvc": {"name": "rhel9-golden", "namespace": "openshift-virtualization-os-images"}}}})


def _play(tasks, cluster, saved):
    registered = []
    for index, task in enumerate(tasks):
        task = dict(task, register="example_%d" % index)
        registered.append(task)
    return [{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/virt.kubevirt.kubevirt": {"kubeconfig": cluster.kubeconfig, "context": "local"}},
        "tasks": registered + [{
            "name": "save what the examples did",
            "ansible.builtin.copy": {"dest": str(saved), "content": "{{ [%s] | to_json }}" % ", ".join(
                "{'name': %r, 'changed': example_%d.changed, 'method': example_%d.method}" % (task["name"], index, index)
                for index, task in enumerate(tasks))},
        }],
    }]


def _run(runner, cluster, tasks, home):
    saved = runner.workdir / ("vm-examples-%s.json" % uuid.uuid4().hex[:8])
    playbook = runner.workdir / ("vm-examples-%s.yml" % uuid.uuid4().hex[:8])
    playbook.write_text(yaml.safe_dump(_play(tasks, cluster, saved), sort_keys=False))
    mark = cluster.mark()
    proc = subprocess.run([_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                          capture_output=True, text=True, env=dict(runner.env(), HOME=str(home)), cwd=str(runner.workdir),
                          timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return json.loads(saved.read_text()), cluster.requests(since=mark)


def test_every_vm_example_runs_and_a_second_run_changes_nothing(cluster_factory, collections_path, tmp_path):
    from kubernetes import client as k8s

    cluster = cluster_factory()
    runner = Runner(cluster, collections_path, tmp_path / "playbooks")
    (tmp_path / "playbooks").mkdir()
    tasks = module_examples(collections_path, "vm")
    assert len(tasks) >= 10
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_text(PUBLIC_KEY)
    _prerequisites(cluster)

    # Each example twice in a row: the repeat must find everything as declared (a restart
    # example restarts again by design, as `restart: true` asks for one on every run).
    doubled = [dict(task, name=name) for task in tasks for name in (task["name"], "again: " + task["name"])]
    rows, _requests = _run(runner, cluster, doubled, home)
    firsts, repeats = rows[0::2], rows[1::2]
    assert [row["method"] for row in firsts][:2] == ["create", "create"]
    assert firsts[-1]["method"] == "delete"
    assert all(row["changed"] for row in firsts), firsts
    assert [row["name"] for row in repeats if row["changed"]] == [
        "again: " + task["name"] for task in tasks if task["virt.kubevirt.vm"].get("restart")], repeats
    custom = k8s.CustomObjectsApi(cluster.api_client())
    vm = custom.get_namespaced_custom_object("kubevirt.io", "v1", "vms", "virtualmachines", "fedora-1")
    assert vm["metadata"]["labels"]["app"] == "web" and vm["spec"]["runStrategy"] == "Always"
    template = vm["spec"]["template"]["spec"]
    assert template["domain"]["memory"]["guest"] == "4Gi"
    assert [d["name"] for d in template["domain"]["devices"]["disks"]][:2] == ["root", "data"]
    assert "firmware" not in template["domain"]
    assert not custom.list_namespaced_custom_object("kubevirt.io", "v1", "prod", "virtualmachines")["items"]
