# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES tasks of virt.kubevirt.vm_info, as installed, run in check mode on the local cluster.

The tasks are taken unchanged; the connection comes from ``module_defaults`` for the action group
(as a playbook would give it), and one task appended afterwards saves what they registered.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import yaml

from .conftest import _tool, module_examples

IMAGE = "quay.io/containerdisks/fedora:41"


@pytest.fixture(scope="module")
def example_vms(runner, cluster):
    """The objects the examples name: fedora-1 in vms, VMs in team-a and team-b, app=web labels."""
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(cluster.api_client())
    for ns in ("vms", "team-a", "team-b"):
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for ns, name, strategy in (("vms", "fedora-1", "Always"), ("team-a", "a-1", "Always"), ("team-b", "b-1", "Halted")):
        run = runner.run("vm", {"name": name, "namespace": ns, "run_strategy": strategy, "memory": "512Mi",
                                "labels": {"app": "web"}, "disks": [{"name": "root", "container_disk": IMAGE}],
                                "wait": True})
        assert not run.failed, run


def test_vm_info_examples_in_check_mode(runner, cluster, collections_path, example_vms):
    tasks = module_examples(collections_path, "vm_info")
    registered = sorted({task["register"] for task in tasks if "register" in task})
    assert registered == ["info", "running"]
    saved = runner.workdir / ("examples-%s.json" % uuid.uuid4().hex[:8])
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "check_mode": True,
        "module_defaults": {"group/virt.kubevirt.kubevirt": {"kubeconfig": cluster.kubeconfig, "context": "local"}},
        "tasks": tasks + [{
            "name": "save what the examples registered",
            "ansible.builtin.copy": {"content": "{{ {'info': info, 'running': running} | to_json }}", "dest": str(saved)},
            "check_mode": False,
        }],
    }]
    playbook = runner.workdir / ("examples-%s.yml" % uuid.uuid4().hex[:8])
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    mark = cluster.mark()
    proc = subprocess.run([_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                          capture_output=True, text=True, env=runner.env(), cwd=str(runner.workdir), timeout=600, check=False)
    requests = cluster.requests(since=mark)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(saved.read_text())
    (vm,) = result["info"]["resources"]
    assert vm["metadata"]["name"] == "fedora-1" and vm["vmi"]["ip_address"]
    # The debug example shows the address and the node.
    assert "%s on %s" % (vm["vmi"]["ip_address"], vm["vmi"]["node"]) in proc.stdout
    assert [row["name"] for row in result["running"]["query_result"]] == ["a-1"]
    assert [r for r in requests if r["write"]] == []
