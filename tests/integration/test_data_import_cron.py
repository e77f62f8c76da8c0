# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.data_import_cron against the local test cluster: the first import and the managed
DataSource, idempotence, the immutable spec and recreate, retention, and checks before any request."""

from __future__ import annotations

from typing import Any, Dict

import pytest


URL = "docker://quay.io/containerdisks/fedora:41"


def _cron(namespace: str, **extra: Any) -> Dict[str, Any]:
    return dict({"name": "fedora-cron", "namespace": namespace, "schedule": "0 */12 * * *", "managed_data_source": "fedora",
                 "registry": {"url": URL}, "storage": {"size": "1Gi"}, "imports_to_keep": 2,
                 "default_preference": "fedora"}, **extra)


def test_schedule_import_publish_and_recreate(runner, namespace, objects):
    preview = runner.run("data_import_cron", _cron(namespace, wait=True), check=True, diff=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    assert objects.get("cdi.kubevirt.io", "dataimportcrons", namespace, "fedora-cron") is None

    made = runner.run("data_import_cron", _cron(namespace, wait=True, wait_timeout=90))
    assert not made.failed and made.changed and made.result["method"] == "create", made
    imported = made.result["last_imported_pvc"]["name"]
    assert imported.startswith("fedora-") and len(imported) == len("fedora-") + 12
    assert made.result["data_source"]["ready"] is True
    assert made.result["data_source"]["source"] == {"pvc": {"name": imported, "namespace": namespace}}
    ds = objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora")
    assert ds["metadata"]["labels"]["instancetype.kubevirt.io/default-preference"] == "fedora"  # copied by CDI
    states = [p["state"] for p in made.result["progress"]]
    assert any(s.startswith("UpToDate=True") for s in states), states

    again = runner.run("data_import_cron", _cron(namespace, wait=True))
    assert not again.failed and again.changed is False and again.writes == [], again

    relabel = runner.run("data_import_cron", _cron(namespace, labels={"team": "images"}))
    assert not relabel.failed and relabel.changed and relabel.result["method"] == "update", relabel.msg

    other = _cron(namespace, schedule="@daily", labels={"team": "images"})
    refused = runner.run("data_import_cron", other)
    assert refused.failed and refused.writes == [], refused
    assert refused.msg.startswith("spec.schedule: DataImportCron %s/fedora-cron has a different spec (spec.schedule: "
                                  "'0 */12 * * *' -> '@daily')" % namespace), refused.msg
    assert "Cannot update DataImportCron Spec" in refused.msg and "recreate: true" in refused.msg

    preview = runner.run("data_import_cron", dict(other, recreate=True), check=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    redone = runner.run("data_import_cron", dict(other, recreate=True, wait=True, wait_timeout=90))
    assert not redone.failed and redone.result["method"] == "recreate", redone
    assert redone.result["recreated_for"] == ["spec.schedule: '0 */12 * * *' -> '@daily'"]
    assert objects.get("cdi.kubevirt.io", "dataimportcrons", namespace, "fedora-cron")["spec"]["schedule"] == "@daily"
    # The same image digest: the import is found again, not made twice, and the DataSource still points at it.
    assert redone.result["last_imported_pvc"]["name"] == imported

    # The managed DataSource belongs to the cron: data_source refuses to re-point it without force.
    moved = runner.run("data_source", {"name": "fedora", "namespace": namespace, "pvc": {"name": "elsewhere"}})
    assert moved.failed and "managed by DataImportCron fedora-cron" in moved.msg, moved

    gone = runner.run("data_import_cron", {"name": "fedora-cron", "namespace": namespace, "state": "absent", "wait": True})
    assert not gone.failed and gone.changed, gone
    assert objects.get("cdi.kubevirt.io", "datasources", namespace, "fedora") is not None  # RetainAll
    assert objects.get("cdi.kubevirt.io", "datavolumes", namespace, imported) is not None


def test_retention_none_deletion_needs_force(runner, namespace, objects):
    args = _cron(namespace, name="tmp-cron", managed_data_source="tmp", retention_policy="None", wait=True, wait_timeout=90)
    made = runner.run("data_import_cron", args)
    assert not made.failed, made
    imported = made.result["last_imported_pvc"]["name"]
    absent = {"name": "tmp-cron", "namespace": namespace, "state": "absent"}
    refused = runner.run("data_import_cron", absent)
    assert refused.failed and refused.writes == [], refused
    assert refused.msg.startswith("force: DataImportCron %s/tmp-cron has retentionPolicy None: CDI deletes its "
                                  "DataSource tmp and every import" % namespace), refused.msg
    forced = runner.run("data_import_cron", dict(absent, force=True, wait=True))
    assert not forced.failed and forced.changed, forced
    objects.wait("CDI's cleanup", lambda: objects.get("cdi.kubevirt.io", "datasources", namespace, "tmp") is None
                 and objects.get("cdi.kubevirt.io", "datavolumes", namespace, imported) is None)


@pytest.mark.parametrize("extra, message", [
    ({"schedule": "61 * * * *"}, "schedule: minute field '61' is not valid (0-59"),
    ({"schedule": "every day"}, "schedule: must be a cron line of 5 fields"),
    ({"managed_data_source": "Fedora_41"}, "managed_data_source: must be lowercase letters"),
    ({"registry": {"url": "https://example.com/f.qcow2"}}, "registry.url:"),
    ({"storage": {"class": "x"}}, "storage.size: is required"),
    ({"imports_to_keep": -1}, "imports_to_keep:"),
    ({"registry": None}, "registry: is required with state=present"),
])
def test_bad_input_fails_naming_the_option_before_any_request(runner, namespace, extra, message):
    run = runner.run("data_import_cron", _cron(namespace, **extra))
    assert run.failed and run.requests == [], run
    assert run.msg.startswith(message), run.msg
