# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume_info against the local test cluster: joins, request counts, waits."""

from __future__ import annotations

from .test_vm_disk_helpers import run_batch


def test_named_listed_and_used_by(runner, namespace):
    created, _requests = run_batch(runner, [{"name": name, "namespace": namespace, "blank": True, "storage": {"size": "1Gi"},
                                             "labels": {"disk": name}, "wait": True} for name in ("root", "data")],
                                   module="datavolume")
    assert not any(result.get("failed") for result in created), created
    vm = {"name": "web", "namespace": namespace, "run_strategy": "Halted", "memory": "1Gi",
          "disks": [{"name": "root", "pvc": "root"}], "networks": [{"name": "default"}]}
    assert not runner.run("vm", vm).failed

    named = runner.run("datavolume_info", {"name": "root", "namespace": namespace})
    assert not named.failed, named
    [root] = named.result["resources"]
    assert root["status"]["phase"] == "Succeeded" and root["used_by"] == ["web"]
    assert root["pvc"]["phase"] == "Bound" and root["pvc"]["capacity"] == "1Gi"
    # One GET of the DataVolume, one of its claim, one VM list of the namespace.
    assert [(r["verb"], r["path"].rsplit("/", 2)[-2]) for r in named.requests] == [
        ("get", "datavolumes"), ("get", "persistentvolumeclaims"), ("list", namespace)], named

    selected = runner.run("datavolume_info", {"label_selectors": ["disk in (data)"]})
    assert not selected.failed, selected
    assert [(dv["metadata"]["namespace"], dv["metadata"]["name"], dv["used_by"]) for dv in selected.result["resources"]
            if dv["metadata"]["namespace"] == namespace] == [(namespace, "data", [])]
    assert {r["verb"] for r in selected.requests} == {"list"} and len(selected.requests) == 3, selected

    missing = runner.run("datavolume_info", {"name": "nothing", "namespace": namespace})
    assert not missing.failed and missing.result["resources"] == [], missing


def test_wait_fails_early_with_cdi_message(runner, namespace):
    bad = {"name": "bad", "namespace": namespace, "registry": {"url": "docker://registry.example.invalid/fedora:41"},
           "storage": {"size": "1Gi"}}
    assert not runner.run("datavolume", bad).failed
    run = runner.run("datavolume_info", {"name": "bad", "namespace": namespace, "wait": True, "wait_timeout": 60})
    assert run.failed, run
    assert run.msg.startswith("DataVolume %s/bad cannot become populated (phase Succeeded): Unable to process data" % namespace), run.msg
    assert "pinging container registry registry.example.invalid" in run.msg
