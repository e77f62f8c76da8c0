"""Fault injection and the request log, through the admin endpoint and the fixture."""
from __future__ import annotations

import http.client
import socket
import ssl
import time

import pytest

from tests.cluster.faults import FaultSpecError, Faults, parse_spec

from .apitools import configmap


@pytest.fixture
def faults(cluster):
    yield cluster
    cluster.clear_faults()


def test_error_fault_filtered_by_verb_and_path_with_times(faults, fresh_namespace):
    ns = fresh_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps"
    faults.set_faults(f"error=503;verb=list;path={path};times=2")
    first = faults.http("GET", path)
    assert first.status == 503 and first.json()["reason"] == "ServiceUnavailable"
    assert first.headers["Retry-After"] == "1"
    assert faults.http("POST", path, configmap("ok", ns)).status == 201, "other verbs are untouched"
    assert faults.http("GET", path).status == 503
    assert faults.http("GET", path).status == 200, "the rule is spent after two"


def test_too_many_requests_with_retry_after(faults):
    faults.set_faults("error=429;path=/api/v1/namespaces;retry-after=3;times=1")
    answer = faults.http("GET", "/api/v1/namespaces")
    assert answer.status == 429 and answer.headers["Retry-After"] == "3"
    assert answer.json()["reason"] == "TooManyRequests"
    assert answer.json()["details"] == {"retryAfterSeconds": 3}


def test_latency_and_fraction_are_deterministic(faults):
    faults.set_faults("latency=300ms;path=/version")
    started = time.monotonic()
    assert faults.http("GET", "/version").status == 200
    assert time.monotonic() - started >= 0.3
    one = Faults("error=500:0.5", seed=7)
    two = Faults("error=500:0.5", seed=7)
    pattern = [one.decide("GET", "/x", "get", "admin").error for _ in range(20)]
    assert pattern == [two.decide("GET", "/x", "get", "admin").error for _ in range(20)]
    assert 500 in pattern and None in pattern


def test_reset_connection(faults):
    faults.set_faults("reset=1;path=/api/v1/configmaps;times=1")
    host, port = faults.url.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=faults.ca_file))
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
        conn.request("GET", "/api/v1/configmaps", headers={"Authorization": f"Bearer {faults.admin_token}"})
        conn.getresponse().read()
    conn.close()
    entry = faults.requests(since=faults.mark() - 1)[-1]
    assert entry["path"] == "/api/v1/configmaps" and entry["status"] == 0
    assert faults.http("GET", "/api/v1/configmaps").status == 200


def _raw_stream(cluster, path: str) -> bytes:
    """The raw bytes of a response up to the connection's end (chunk framing included)."""
    host, port = cluster.url.rsplit("//", 1)[1].split(":")
    context = ssl.create_default_context(cafile=cluster.ca_file)
    with socket.create_connection((host, int(port)), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname=host) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {cluster.admin_token}"
                         f"\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                try:
                    chunk = conn.recv(65536)
                except (ssl.SSLError, ConnectionError):
                    break
                if not chunk:
                    break
                data += chunk
    return data


def test_dropped_watch_stream(faults, fresh_namespace):
    ns = fresh_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true"
    clean = _raw_stream(faults, path + "&timeoutSeconds=1")
    assert clean.startswith(b"HTTP/1.1 200") and clean.endswith(b"0\r\n\r\n"), "a timeout ends cleanly"
    faults.set_faults(f"drop-watch=500ms;path=/api/v1/namespaces/{ns}/configmaps")
    started = time.monotonic()
    dropped = _raw_stream(faults, path + "&timeoutSeconds=30")
    assert dropped.startswith(b"HTTP/1.1 200") and not dropped.endswith(b"0\r\n\r\n")
    assert 0.4 < time.monotonic() - started < 5


def test_bad_spec_is_rejected(faults):
    with pytest.raises(RuntimeError, match="400"):
        faults.set_faults("explode=1")
    for bad in ("error=99", "latency=fast", "verb=frobnicate;error=500", "path=/x"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)
    rules = parse_spec("latency=10ms..20ms;verb=get | error=500:0.1;method=PUT\nreset=0.5")
    assert len(rules) == 3 and rules[0].latency == (0.01, 0.02) and rules[1].methods == frozenset({"PUT"})


def test_request_log_entries(cluster, fresh_namespace):
    ns = fresh_namespace
    mark = cluster.mark()
    cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps?dryRun=All", configmap("logged", ns))
    cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=5")
    cluster.http("GET", "/apis", user="restricted")
    cluster.http("GET", "/api/v1/nodes", user=None)
    cluster.requests(0)  # admin requests are not logged
    entries = cluster.requests(since=mark)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries) and entries[0]["seq"] == mark + 1
    create, listing, discovery, anonymous = entries
    assert create == {"seq": mark + 1, "method": "POST", "path": f"/api/v1/namespaces/{ns}/configmaps",
                      "query": "dryRun=All", "content_type": "application/json", "status": 201, "user": "admin",
                      "verb": "create", "write": True, "dry_run": True}
    assert listing["verb"] == "list" and listing["query"] == "limit=5" and listing["write"] is False
    assert discovery["verb"] == "proxy" and discovery["user"] == "restricted"
    assert anonymous["status"] == 401 and anonymous["user"] is None
    assert cluster.requests(since=entries[-1]["seq"]) == []


def test_faults_from_the_command_line(cluster_factory):
    other = cluster_factory("--flavor", "kubernetes", "--faults", "error=500;path=/api/v1/secrets;times=1")
    first = other.http("GET", "/api/v1/secrets")
    assert first.status == 500 and first.json()["message"] == "Internal error occurred: injected fault"
    assert other.http("GET", "/api/v1/secrets").status == 200
