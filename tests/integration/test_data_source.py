# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.data_source and data_source_info against the local test cluster: publish a golden
image, re-point it, chains CDI cannot resolve, cron-managed refusal, deletion, and the info twin."""

from __future__ import annotations

from typing import Any, Dict


LABEL = "instancetype.kubevirt.io/default-instancetype"


def _ds(namespace: str, name: str = "fedora", **extra: Any) -> Dict[str, Any]:
    return dict({"name": name, "namespace": namespace}, **extra)


def test_publish_repoint_and_delete(runner, namespace, objects):
    objects.create_dv(namespace, "fedora-41")
    args = _ds(namespace, pvc={"name": "fedora-41"}, default_instancetype="u1.medium", default_preference="fedora",
               wait=True, wait_timeout=60)
    preview = runner.run("data_source", args, check=True, diff=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    assert preview.result["diff"]["after"]["spec"]["source"] == {"pvc": {"name": "fedora-41", "namespace": namespace}}
    assert objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora") is None

    made = runner.run("data_source", args)
    assert not made.failed and made.changed and made.result["method"] == "create", made
    assert made.result["summary"]["ready"] is True and made.result["summary"]["message"] == "DataSource is ready to be consumed"
    live = objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora")
    assert live["metadata"]["labels"][LABEL] == "u1.medium"
    assert live["metadata"]["labels"]["instancetype.kubevirt.io/default-preference"] == "fedora"

    again = runner.run("data_source", args)
    assert not again.failed and again.changed is False and again.writes == [], again

    # Re-pointed at a claim that does not exist yet: an update, a warning, and CDI says NotFound.
    moved = runner.run("data_source", _ds(namespace, pvc={"name": "fedora-42"}), diff=True)
    assert not moved.failed and moved.changed and moved.result["method"] == "update", moved
    assert "pvc: PersistentVolumeClaim %s/fedora-42 does not exist (yet)" % namespace in " ".join(
        moved.result.get("warnings") or []), moved.result
    assert moved.result["diff"]["before"]["spec"]["source"]["pvc"]["name"] == "fedora-41"
    objects.wait("NotFound", lambda: ((objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora") or {})
                                      .get("status", {}).get("conditions") or [{}])[0].get("reason") == "NotFound")
    # The default_* labels stay: that task did not name them.
    assert objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora")["metadata"]["labels"][LABEL] == "u1.medium"

    gone = runner.run("data_source", _ds(namespace, state="absent", wait=True), diff=True)
    assert not gone.failed and gone.changed and gone.result["diff"]["after"] == {}, gone
    assert objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora") is None
    assert objects.get("cdi.kubevirt.io", "datavolumes", namespace, "fedora-41") is not None  # data is kept
    twice = runner.run("data_source", _ds(namespace, state="absent"))
    assert not twice.failed and twice.changed is False and twice.writes == [], twice


def test_chains_cdi_cannot_resolve_fail_before_any_write(runner, namespace, objects):
    objects.create_dv(namespace, "rhel-9")
    assert not runner.run("data_source", _ds(namespace, "rhel9", pvc={"name": "rhel-9"})).failed
    latest = runner.run("data_source", _ds(namespace, "rhel", data_source={"name": "rhel9"}, wait=True, wait_timeout=60))
    assert not latest.failed and latest.result["summary"]["source"] == {"pvc": {"name": "rhel-9", "namespace": namespace}}, latest

    chained = runner.run("data_source", _ds(namespace, "stable", data_source={"name": "rhel"}))
    assert chained.failed and chained.writes == [], chained
    assert chained.msg.startswith("data_source: DataSource %s/rhel itself points at another DataSource; CDI resolves "
                                  "one level only" % namespace), chained.msg

    itself = runner.run("data_source", _ds(namespace, "loop", data_source={"name": "loop"}))
    assert itself.failed and itself.requests == [], itself
    assert itself.msg.startswith("data_source.name: a DataSource cannot reference itself"), itself.msg
    away = runner.run("data_source", _ds(namespace, "away", data_source={"name": "rhel9", "namespace": "images"}))
    assert away.failed and away.requests == [] and away.msg.startswith("data_source.namespace: CDI only resolves"), away
    two = runner.run("data_source", _ds(namespace, "two", pvc={"name": "a"}, snapshot={"name": "b"}))
    assert two.failed and two.requests == [] and "pvc, snapshot, data_source are mutually exclusive" in two.msg, two


def test_cron_managed_source_needs_force_and_clone_users_are_named(runner, namespace, objects):
    objects.create_dv(namespace, "centos-1")
    objects.custom.create_namespaced_custom_object("cdi.kubevirt.io", "v1beta1", namespace, "datasources", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
        "metadata": {"name": "centos", "labels": {"cdi.kubevirt.io/dataImportCron": "centos-cron"}},
        "spec": {"source": {"pvc": {"name": "centos-1", "namespace": namespace}}}})
    moved = runner.run("data_source", _ds(namespace, "centos", pvc={"name": "centos-2"}))
    assert moved.failed and moved.writes == [], moved
    assert moved.msg.startswith("force: DataSource %s/centos is managed by DataImportCron centos-cron" % namespace), moved.msg
    vm = {"name": "cloned", "namespace": namespace, "run_strategy": "Halted", "memory": "1Gi",
          "disks": [{"name": "root", "data_volume": {"data_source": {"name": "centos"}, "size": "1Gi"}}],
          "networks": [{"name": "default"}]}
    assert not runner.run("vm", vm).failed
    refused = runner.run("data_source", _ds(namespace, "centos", state="absent"))
    assert refused.failed and refused.writes == [] and "creates it again at its next poll" in refused.msg, refused
    forced = runner.run("data_source", _ds(namespace, "centos", state="absent", force=True))
    assert not forced.failed and forced.changed, forced
    assert "is the clone source of VirtualMachine %s/cloned" % namespace in " ".join(forced.result["warnings"])


def test_info_lists_ready_sources_with_their_claims(runner, namespace, objects):
    objects.create_dv(namespace, "img-1")
    assert not runner.run("data_source", _ds(namespace, "good", pvc={"name": "img-1"}, default_preference="fedora",
                                             wait=True, wait_timeout=60)).failed
    assert not runner.run("data_source", _ds(namespace, "pending", pvc={"name": "img-2"})).failed
    listed = runner.run("data_source_info", {"namespace": namespace})
    assert not listed.failed and listed.changed is False, listed
    by_name = {r["metadata"]["name"]: r for r in listed.result["resources"]}
    assert set(by_name) == {"good", "pending"}
    good = by_name["good"]
    assert good["summary"]["ready"] is True and good["pvc"]["name"] == "img-1" and good["pvc"]["phase"] == "Bound"
    assert good["defaults"] == {"default_preference": "fedora"} and good["managed_by"] is None
    assert by_name["pending"]["pvc"] is None
    assert [r["verb"] for r in listed.requests] == ["list", "list"]  # DataSources, then the claims of the namespace
    ready = runner.run("data_source_info", {"namespace": namespace, "ready": True})
    assert [r["metadata"]["name"] for r in ready.result["resources"]] == ["good"]
    waited = runner.run("data_source_info", {"namespace": namespace, "name": "pending", "wait": True, "wait_timeout": 2})
    assert waited.failed and "Last state: conditions Ready=False (NotFound: PVC not found)" in waited.msg, waited.msg
