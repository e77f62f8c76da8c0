# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On the controller a module runs inside Ansible's worker (plugins/plugin_utils/_in_process.py).

The same tasks give the same results, requests and messages whether they run there or as a module
process (``virt_kubevirt_in_process: false``); the fallbacks happen when they must; the task's
environment reaches the module; live progress lines appear in the play output while a task waits.
"""

from __future__ import annotations

import re

import pytest

IN_WORKER = "runs in the controller's worker process"
OFF = {"virt_kubevirt_in_process": False}


def _vm(namespace, **extra):
    args = {
        "name": "vm1",
        "namespace": namespace,
        "run_strategy": "Halted",
        "memory": "1Gi",
        "disks": [{"name": "root", "container_disk": "quay.io/containerdisks/fedora:41"}],
    }
    args.update(extra)
    return args


def _comparable(run, name):
    """What a user sees of a task: outcome, message and result keys, and the requests it sent."""
    return {
        "changed": run.changed,
        "failed": run.failed,
        "msg": re.sub(r"\b%s\b" % re.escape(name), "NAME", run.msg),
        "keys": sorted(k for k in run.result if k != "invocation"),
        "diff": bool(run.result.get("diff")),
        "requests": [(r["method"], re.sub(r"\b%s\b" % re.escape(name), "NAME", r["path"]), r["status"], r["dry_run"]) for r in run.requests],
    }


def _scenario(runner, namespace, name, play_vars):
    steps = [
        dict(args=_vm(namespace, name=name), check=True),
        dict(args=_vm(namespace, name=name), diff=True),
        dict(args=_vm(namespace, name=name)),
        dict(args=_vm(namespace, name=name, memory="2Gi"), diff=True),
        dict(args=_vm(namespace, name=name, memory="lots")),
        dict(args=_vm(namespace, name=name, state="absent", wait=True)),
        dict(args=_vm(namespace, name=name, state="absent")),
    ]
    return [_comparable(runner.run("vm", play_vars=play_vars, **step), name) for step in steps]


def test_same_results_in_the_worker_and_as_a_module_process(runner, namespace):
    in_worker = _scenario(runner, namespace, "alpha", None)
    as_module = _scenario(runner, namespace, "bravo", OFF)
    assert in_worker == as_module
    assert [step["changed"] for step in in_worker] == [True, True, False, True, False, True, False]
    assert in_worker[4]["failed"] and "memory" in in_worker[4]["msg"]


def test_runs_in_the_worker_unless_switched_off(runner, namespace):
    run = runner.run("vm_info", {"namespace": namespace}, verbosity=3)
    assert IN_WORKER in run.output and "AnsiballZ_vm_info" not in run.output
    assert not run.failed, run
    run = runner.run("vm_info", {"namespace": namespace}, verbosity=3, play_vars=OFF)
    assert "runs as a module process: virt_kubevirt_in_process is false" in run.output
    assert "AnsiballZ_vm_info" in run.output and not run.failed, run


def test_another_interpreter_runs_the_module_there(runner, namespace, tmp_path):
    interpreter = tmp_path / "bin" / "python3"
    interpreter.parent.mkdir()
    interpreter.write_text("#!/bin/sh\necho interpreter-was-used >&2\nexit 3\n")
    interpreter.chmod(0o755)
    run = runner.run("vm_info", {"namespace": namespace}, verbosity=3, task_keywords={"vars": {"ansible_python_interpreter": str(interpreter)}})
    assert "runs as a module process: interpreter %s is not the controller's Python" % interpreter in run.output
    assert run.failed and "interpreter-was-used" in run.output


@pytest.mark.parametrize("play_vars", [None, OFF], ids=["worker", "module-process"])
def test_task_environment_reaches_the_module(runner, cluster, namespace, play_vars):
    run = runner.run(
        "vm_info", {"namespace": namespace}, auth=False, play_vars=play_vars,
        task_keywords={"environment": {"K8S_AUTH_KUBECONFIG": cluster.kubeconfig, "K8S_AUTH_CONTEXT": "restricted"}},
    )
    # The restricted user may not read this namespace: proof that the environment's context was used.
    assert run.failed and ("403" in run.msg or "forbidden" in run.msg.lower()), run


def test_no_log_options_are_masked_in_the_worker(runner, cluster, namespace):
    run = runner.run("vm_info", {"namespace": namespace, "api_key": "not-a-valid-token-4711"}, context=None)
    assert run.failed and "401" in run.msg
    assert "not-a-valid-token-4711" not in run.output and "not-a-valid-token-4711" not in str(run.result)


def test_a_loop_runs_every_item_in_the_worker(runner, namespace):
    run = runner.run(
        "vm", _vm(namespace, name="{{ item }}"), task_keywords={"loop": ["a", "b", "c"]}, verbosity=3,
    )
    assert run.output.count(IN_WORKER) == 3
    assert [item["changed"] for item in run.result["results"]] == [True, True, True]
    assert [item["result"]["metadata"]["name"] for item in run.result["results"]] == ["a", "b", "c"]


def test_a_wait_shows_live_progress_in_the_worker_and_returns_its_history(runner, namespace):
    run = runner.run("vm", _vm(namespace, run_strategy="Always", wait=True))
    assert not run.failed, run
    lines = [line for line in run.output.splitlines() if line.startswith("module under test: [")]
    assert lines and lines[-1].endswith("VirtualMachine %s/vm1: Running" % namespace), run.output
    history = run.result["progress"]
    assert history[-1]["state"] == "Running" and history[-1]["subject"] == "VirtualMachine %s/vm1" % namespace
    assert [entry["state"] for entry in history] != ["Running"]

    run = runner.run("vm", _vm(namespace, name="vm2", run_strategy="Always", wait=True), play_vars=OFF)
    assert not [line for line in run.output.splitlines() if line.startswith("module under test: [")]
    assert run.result["progress"][-1]["state"] == "Running"


def test_a_data_volume_wait_shows_its_phases_live(runner, namespace):
    run = runner.run("datavolume", {"name": "disk", "namespace": namespace, "blank": True,
                                    "storage": {"size": "1Gi"}, "wait": True})
    assert not run.failed, run
    history = run.result["progress"]
    assert history[-1]["subject"] == "DataVolume %s/disk" % namespace and history[-1]["state"].startswith("Succeeded")
    assert len(history) > 1 and history[0]["elapsed"] <= history[-1]["elapsed"]
    lines = [line for line in run.output.splitlines() if line.startswith("module under test: [")]
    assert lines and lines[-1].endswith(history[-1]["state"]), run.output
