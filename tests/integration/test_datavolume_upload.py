# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume_upload against the simulated CDI upload proxy: the bytes on the
volume are the file's (read back through /_admin/pvc-data), re-runs and check mode write nothing."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from .test_vm_disk_helpers import run_batch

SIZE = {"size": "64Mi"}
ANNOTATION = "virt.kubevirt.io/upload-sha256"


def _image(path: Path, mib: int = 3) -> str:
    data = os.urandom(mib * 1024 * 1024)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _real_writes(run):
    return [r for r in run.requests if r["write"] and not r["dry_run"]]


def test_upload_round_trip(runner, cluster, namespace, tmp_path):
    src = tmp_path / "disk.raw"
    digest = _image(src)
    args = {"name": "up", "namespace": namespace, "src": str(src), "storage": SIZE}

    check = runner.run("datavolume_upload", args, check=True, diff=True)
    assert not check.failed, check.msg
    assert check.changed and check.result["created"] and check.result["sha256"] == digest
    assert _real_writes(check) == [], _real_writes(check)
    assert not [r for r in check.requests if "uploadtokenrequests" in r["path"] or r["path"].startswith("/v1beta1/upload")]

    first = runner.run("datavolume_upload", args)
    assert not first.failed, first.msg
    assert first.changed and first.result["method"] == "upload"
    assert first.result["sha256"] == digest and first.result["sent"] == src.stat().st_size
    dv = first.result["result"]
    assert dv["status"]["phase"] == "Succeeded" and dv["metadata"]["annotations"][ANNOTATION] == digest
    assert cluster.pvc_sha256(namespace, "up") == digest  # the bytes CDI wrote are the file's
    assert "token" not in str(first.result).lower()
    assert [r["status"] for r in first.requests if r["path"] == "/v1beta1/upload"] == [200]

    again = runner.run("datavolume_upload", args)
    assert not again.failed, again.msg
    assert not again.changed and again.result["sha256"] == digest and again.result["sent"] == 0
    assert again.writes == []

    _image(src)  # another file of the same name
    other = runner.run("datavolume_upload", args)
    assert other.failed and "takes a single upload" in other.msg and digest in other.msg, other.msg
    assert other.writes == []
    assert cluster.pvc_sha256(namespace, "up") == digest


def test_upload_refusals(runner, namespace, tmp_path):
    src = tmp_path / "disk.raw"
    _image(src, 1)
    base = {"namespace": namespace, "src": str(src), "storage": SIZE}
    results, requests = run_batch(runner, [
        dict(base, name="missing-src", src=str(tmp_path / "nope.qcow2")),
        dict(base, name="absent", create=False),
        dict(base, name="no-proxy", upload_proxy_url="https://127.0.0.1:1", wait_timeout=30),
        dict(base, name="bad-size", storage={"size": "tiny"}),
    ], module="datavolume_upload")
    missing, absent, no_proxy, bad_size = results
    assert missing["failed"] and missing["msg"].startswith("src: ") and "does not exist" in missing["msg"], missing["msg"]
    assert absent["failed"] and absent["msg"].startswith("create: ") and "does not exist" in absent["msg"], absent["msg"]
    assert no_proxy["failed"] and no_proxy["msg"].startswith("upload_proxy_url: cannot send the image") \
        and "https://127.0.0.1:1/v1beta1/upload" in no_proxy["msg"], no_proxy["msg"]
    assert bad_size["failed"] and bad_size["msg"].startswith("storage.size: "), bad_size["msg"]
    # Only the DataVolume the proxy case created (server-side apply) and its token were written.
    writes = [(r["verb"], r["path"].rsplit("/", 1)[-1]) for r in requests if r["write"] and not r["dry_run"]]
    assert writes == [("patch", "no-proxy"), ("create", "uploadtokenrequests")], writes  # apply creates it


def test_upload_into_existing_dv_through_kubernetes_client(runner, cluster, namespace, tmp_path):
    """An upload DataVolume made by virt.kubevirt.datavolume; the kubernetes client's TLS settings
    (a kubeconfig its loader resolves) carry to the proxy as the direct client's do."""
    src = tmp_path / "disk.raw.gz"
    raw = os.urandom(2 * 1024 * 1024)
    src.write_bytes(gzip.compress(raw, compresslevel=1))
    made = runner.run("datavolume", {"name": "target", "namespace": namespace, "upload": True, "storage": SIZE,
                                     "wait": True})
    assert not made.failed, made.msg
    args = {"name": "target", "namespace": namespace, "src": str(src), "create": False}

    check = runner.run("datavolume_upload", args, check=True)
    assert not check.failed and check.changed and not check.result["created"], check.msg
    assert _real_writes(check) == [] and check.writes == []  # not even a dry run: no token, no POST

    env = {"environment": {"VIRT_KUBEVIRT_KUBERNETES_CLIENT": "1"}}
    done = runner.run("datavolume_upload", args, diff=True, task_keywords=env)
    assert not done.failed, done.msg
    assert done.changed and done.result["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert done.result["result"]["status"]["phase"] == "Succeeded"
    after = done.result["diff"]["after"]["metadata"]["annotations"]
    assert after[ANNOTATION] == done.result["sha256"] and ANNOTATION not in str(done.result["diff"]["before"])
    assert cluster.pvc_sha256(namespace, "target") == hashlib.sha256(raw).hexdigest()  # CDI unpacked the gz
