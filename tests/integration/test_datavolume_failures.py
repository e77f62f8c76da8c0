# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume imports that cannot succeed, from servers this test runs on loopback:
the importer really connects, and the task ends early with the importer's own message."""

from __future__ import annotations

import http.server
import threading
from typing import Iterator

import pytest

from tests.cluster import tls


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_error(404)

    def do_GET(self) -> None:  # noqa: N802
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(request) -> Iterator[str]:
    """http://127.0.0.1:PORT, or https:// with a certificate from a CA nobody trusts (param "tls")."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    scheme = "http"
    if getattr(request, "param", "") == "tls":
        httpd.socket = tls.generate().server_context().wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "%s://127.0.0.1:%d" % (scheme, httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def _import(namespace: str, url: str) -> dict:
    return {"name": "bad", "namespace": namespace, "http": {"url": url}, "storage": {"size": "1Gi"},
            "wait": True, "wait_timeout": 60}


def test_missing_image_ends_the_wait_with_the_status_code(runner, namespace, server):
    run = runner.run("datavolume", _import(namespace, server + "/images/missing.qcow2"))
    assert run.failed, run
    assert run.msg.startswith("DataVolume %s/bad cannot become populated" % namespace), run.msg
    assert "Unable to connect to http data source: expected status code 200, got 404. Status: 404 Not Found" in run.msg
    assert "Timed out" not in run.msg


@pytest.mark.parametrize("server", ["tls"], indirect=True)
def test_untrusted_certificate_names_the_x509_error(runner, namespace, server):
    run = runner.run("datavolume", _import(namespace, server + "/fedora.qcow2"))
    assert run.failed, run
    assert "tls: failed to verify certificate: x509: certificate signed by unknown authority" in run.msg, run.msg
    assert "Timed out" not in run.msg


def test_claim_beyond_the_namespace_quota_is_reported_with_cdis_event(runner, cluster, namespace):
    from kubernetes import client as k8s

    api_client = cluster.api_client()
    try:
        k8s.CoreV1Api(api_client).create_namespaced_resource_quota(namespace, {
            "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "storage"},
            "spec": {"hard": {"requests.storage": "2Gi"}}})
    finally:
        api_client.close()
    run = runner.run("datavolume", {"name": "big", "namespace": namespace, "blank": True, "storage": {"size": "5Gi"},
                                    "wait": True, "wait_timeout": 5})
    assert run.failed, run
    assert "ErrExceededQuota" in run.msg, run.msg
    assert 'persistentvolumeclaims "big" is forbidden: exceeded quota: storage, requested: requests.storage=' in run.msg
