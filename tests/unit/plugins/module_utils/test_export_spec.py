# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._export_download import _total, file_sha256
from ansible_collections.virt.kubevirt.plugins.module_utils._export_spec import (
    build_export,
    build_token_secret,
    secret_token,
    spec_mismatches,
    validate_export_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._export_status import (
    export_settled,
    link_of,
    not_ready_detail,
    progress_state,
    volume_url,
)


def _params(**extra):
    params = {"name": "db-export", "namespace": "vms", "state": "present",
              "source": {"kind": "VirtualMachine", "name": "db"}, "token_secret": None, "token": None,
              "ttl_duration": None, "proxy_url": None, "download": None, "delete_after": False}
    params.update(extra)
    return params


@pytest.mark.parametrize("extra, message", [
    ({"source": None}, "source: is required with state=present"),
    ({"ttl_duration": "soon"}, "ttl_duration: must be a positive duration"),
    ({"ttl_duration": "0s"}, "ttl_duration: must be a positive duration"),
    ({"token": "short"}, "token: must be at least 16 characters"),
    ({"proxy_url": "http://localhost:8443"}, "proxy_url:"),
    ({"delete_after": True}, "delete_after: needs download"),
    ({"name": "Bad_Name"}, "name:"),
])
def test_bad_options_fail_naming_the_option(extra, message):
    with pytest.raises(KubeApiError) as caught:
        validate_export_params(_params(**extra))
    assert str(caught.value).startswith(message), str(caught.value)


def test_export_body_and_token_secret():
    body = build_export(_params(token="0123456789abcdef-token", ttl_duration="30m"))
    assert body["spec"] == {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
                            "tokenSecretRef": "db-export-export-token", "ttlDuration": "30m"}
    pvc = build_export(_params(source={"kind": "PersistentVolumeClaim", "name": "disk"}))
    assert pvc["spec"] == {"source": {"kind": "PersistentVolumeClaim", "name": "disk"}}
    secret = build_token_secret(_params(token=" 0123456789abcdef-token "), "db-export-export-token")
    assert secret_token(secret) == "0123456789abcdef-token" and secret["type"] == "Opaque"


def test_spec_mismatches_name_each_field_and_default_ttl_matches():
    live = {"spec": {"source": {"kind": "VirtualMachine", "name": "db"}}}
    assert spec_mismatches(live, build_export(_params(ttl_duration="2h"))) == []
    assert spec_mismatches(live, build_export(_params(ttl_duration="120m"))) == []
    assert spec_mismatches(live, build_export(_params(source={"kind": "VirtualMachine", "name": "web"},
                                                      ttl_duration="1h"))) == [
        "spec.source.name is 'db', not 'web'", "spec.ttlDuration is '2h', not '1h'"]


EXPORT = {"metadata": {"name": "x", "namespace": "vms"}, "status": {
    "phase": "Ready", "conditions": [{"type": "Ready", "status": "True", "reason": "PodReady"}],
    "links": {"external": {"cert": "PEM", "volumes": [{"name": "disk", "formats": [
        {"format": "raw", "url": "https://proxy.apps.example.com/api/export.kubevirt.io/v1beta1/namespaces/vms/"
                                 "virtualmachineexports/x/volumes/disk/disk.img"}]}], "manifests": []}}}}


def test_status_readiness_stuck_reasons_and_proxy_rebase():
    assert export_settled(EXPORT) and progress_state(EXPORT) == "Ready, Ready=True PodReady"
    running = {"status": {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "InUse", "message": "Virtual Machine vms/db is running"}]}}
    assert export_settled(running)
    assert not_ready_detail(running) == "phase Pending, InUse: Virtual Machine vms/db is running"
    assert not export_settled({"status": {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "PodPending"}]}})
    moved = link_of(EXPORT, "https://localhost:8443")
    assert volume_url(moved, "disk", "raw") == ("https://localhost:8443/api/export.kubevirt.io/v1beta1/namespaces/vms/"
                                                "virtualmachineexports/x/volumes/disk/disk.img")
    assert volume_url(moved, "disk", "gzip") is None
    assert link_of({"status": {"links": {"internal": {}}}}, None) is None


class _Response:
    def __init__(self, status, headers):
        self.status, self.headers = status, headers


def test_total_size_from_content_range_or_length(tmp_path):
    assert _total(_Response(206, {"Content-Range": "bytes 100-199/200", "Content-Length": "100"}), 100) == 200
    assert _total(_Response(200, {"Content-Length": "200"}), 0) == 200
    assert _total(_Response(200, {}), 0) is None
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    assert file_sha256(str(path)) == hashlib.sha256(b"abc" * 1000).hexdigest()
