# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the built collection's modules against the local test cluster.

The collection is built with ``ansible-galaxy collection build`` and installed into a temporary
collections path once per session. Each task runs through ``ansible-playbook`` in a subprocess:
pytest-ansible's in-process dispatcher has no per-task check mode or diff mode and reads the
collections path once at start-up, while these tests need both modes and the freshly built
tarball (what users install), not the checkout.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    candidate = BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory) -> Path:
    """The collection built from this checkout and installed into a fresh collections path."""
    work = tmp_path_factory.mktemp("collection")
    build = subprocess.run(
        [_tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work / "dist"), str(REPO)],
        capture_output=True, text=True, check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next((work / "dist").glob("virt-kubevirt-*.tar.gz"))
    install = subprocess.run(
        [_tool("ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(work / "collections"), str(tarball)],
        capture_output=True, text=True, check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert (work / "collections" / "ansible_collections" / "virt" / "kubevirt" / "plugins" / "modules" / "vm.py").exists()
    return work / "collections"


def ansible_env(collections: Path, workdir: Path, **extra: str) -> Dict[str, str]:
    """Environment for ansible-* subprocesses: only the given collections path, the venv's python,
    no inherited ANSIBLE_* or K8S_AUTH_* settings, state kept under ``workdir``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("K8S_AUTH_", "ANSIBLE_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOME=str(workdir / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_LOCALHOST_WARNING="false",
        PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""),
    )
    env.update(extra)
    return env


class TaskRun:
    """One module invocation: its registered result plus the cluster requests it caused."""

    def __init__(self, result: Dict[str, Any], requests: List[Dict[str, Any]], output: str) -> None:
        self.result = result
        self.requests = requests
        self.output = output

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    @property
    def writes(self) -> List[Dict[str, Any]]:
        """Requests that could have changed the cluster (write verbs that were not dry runs)."""
        return [r for r in self.requests if r["write"] and not r["dry_run"]]

    def __repr__(self) -> str:
        return "TaskRun(result=%r, requests=%r)" % (self.result, [(r["method"], r["path"], r["status"]) for r in self.requests])


class Runner:
    """Run one task of the built collection with ansible-playbook and return a TaskRun."""

    def __init__(self, cluster: Any, collections: Path, workdir: Path) -> None:
        self.cluster = cluster
        self.collections = collections
        self.workdir = workdir

    def env(self) -> Dict[str, str]:
        return ansible_env(self.collections, self.workdir)

    def run(
        self,
        module: str,
        args: Dict[str, Any],
        check: bool = False,
        diff: bool = False,
        context: Optional[str] = "local",
        auth: bool = True,
        play_vars: Optional[Dict[str, Any]] = None,
        task_keywords: Optional[Dict[str, Any]] = None,
        verbosity: int = 0,
    ) -> TaskRun:
        """``play_vars`` and ``task_keywords`` (``environment``, ``loop``...) go into the play as given."""
        args = dict(args)
        if auth:
            args.setdefault("kubeconfig", self.cluster.kubeconfig)
            if context:
                args.setdefault("context", context)
        run_id = uuid.uuid4().hex[:8]
        result_file = self.workdir / ("result-%s.json" % run_id)
        playbook = [{
            "hosts": "localhost",
            "gather_facts": False,
            "vars": dict(play_vars or {}),
            "tasks": [
                dict({
                    "name": "module under test",
                    "virt.kubevirt.%s" % module: args,
                    "check_mode": check,
                    "diff": diff,
                    "register": "out",
                    "ignore_errors": True,
                }, **(task_keywords or {})),
                {
                    "name": "save the result",
                    "ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(result_file)},
                    "check_mode": False,
                    "diff": False,
                },
            ],
        }]
        playbook_file = self.workdir / ("play-%s.yml" % run_id)
        playbook_file.write_text(yaml.safe_dump(playbook, sort_keys=False))
        mark = self.cluster.mark()
        proc = subprocess.run(
            [_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook_file)] + (["-" + "v" * verbosity] if verbosity else []),
            capture_output=True, text=True, env=self.env(), cwd=str(self.workdir), check=False, timeout=600,
        )
        requests = self.cluster.requests(since=mark)
        output = proc.stdout + proc.stderr
        assert result_file.exists(), "ansible-playbook did not run the task:\n" + output
        return TaskRun(json.loads(result_file.read_text()), requests, output)


@pytest.fixture(scope="session")
def ansible_environment():
    """``ansible_env`` for other conftests (the inventory harness) without importing this one."""
    return ansible_env


@pytest.fixture(scope="session")
def runner(cluster, collections_path, tmp_path_factory) -> Runner:
    return Runner(cluster, collections_path, tmp_path_factory.mktemp("playbooks"))


@pytest.fixture
def faults(cluster):
    """Set fault rules for one test; always cleared afterwards (the cluster is shared)."""
    yield cluster.set_faults
    cluster.clear_faults()


@pytest.fixture
def namespace(fresh_namespace) -> str:
    """A namespace of this test's own (the cluster plugin creates and deletes it through the API)."""
    return fresh_namespace


@pytest.fixture
def kube(cluster):
    """Raw reads of the cluster for assertions, as plain dicts."""
    from kubernetes import client as k8s

    class Kube:
        def __init__(self) -> None:
            self.api = k8s.CustomObjectsApi(cluster.api_client())

        def vm(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
            return self._get("virtualmachines", namespace, name)

        def vmi(self, namespace: str, name: str) -> Optional[Dict[str, Any]]:
            return self._get("virtualmachineinstances", namespace, name)

        def _get(self, plural: str, namespace: str, name: str) -> Optional[Dict[str, Any]]:
            try:
                return self.api.get_namespaced_custom_object("kubevirt.io", "v1", namespace, plural, name)
            except k8s.exceptions.ApiException as exc:
                if exc.status == 404:
                    return None
                raise

    return Kube()


def module_examples(collections: Path, module: str) -> List[Dict[str, Any]]:
    """The EXAMPLES tasks of ``module`` as installed (the tarball users get), parsed."""
    path = collections / "ansible_collections/virt/kubevirt/plugins/modules" / (module + ".py")
    tree = ast.parse(path.read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", None) == "EXAMPLES")
    return yaml.safe_load(text)


@pytest.fixture
def objects(cluster):
    """Objects a test starts from, made through the API (test_vm_disk_helpers.Objects)."""
    # Imported here: test_vm_disk_helpers imports this module.
    from .test_vm_disk_helpers import Objects  # pylint: disable=import-outside-toplevel

    made = Objects(cluster)
    yield made
    made.api_client.close()
