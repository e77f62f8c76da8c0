# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES tasks of virt.kubevirt.datavolume, as installed, run in order on a cluster of
their own (they use the fixed namespaces images and vms), each twice: the repeat changes nothing."""

from __future__ import annotations

from .conftest import Runner, module_examples
from .test_vm_disk_helpers import run_batch


def test_examples_run_in_order_and_again_change_nothing(cluster_factory, collections_path, tmp_path):
    from kubernetes import client as k8s

    cluster = cluster_factory()
    api = cluster.api_client()
    for namespace in ("images", "vms"):
        k8s.CoreV1Api(api).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    api.close()
    runner = Runner(cluster, collections_path, tmp_path)
    examples = module_examples(collections_path, "datavolume")
    assert examples and all("virt.kubevirt.datavolume" in task for task in examples)
    tasks = [task["virt.kubevirt.datavolume"] for task in examples]

    # Each example twice in a row, in one playbook: the repeat must change nothing.
    results, _requests = run_batch(runner, [args for args in tasks for _twice in (1, 2)], module="datavolume")
    for index, example in enumerate(examples):
        done, repeated = results[2 * index], results[2 * index + 1]
        assert not done.get("failed") and done["changed"], (example["name"], done)
        assert not repeated.get("failed") and not repeated["changed"], (example["name"], repeated)
    assert [r["method"] for r in results[::2]][-2:] == ["expand", "delete"]
