"""pytest fixtures for the local test cluster (loaded by the repo-root conftest.py).

- ``cluster`` (session): one ``python -m tests.cluster`` subprocess (``--port 0 --time-scale 0.05``)
  with a temporary kubeconfig; see ``ClusterHandle`` for what it offers (CONTRACTS.md section 1).
- ``fresh_namespace``: a unique namespace created through the API, deleted afterwards.
- ``cluster_factory`` (session): start extra clusters with other options (flavor, faults, ...).

Each server listens on a fresh port, so the kubernetes client's discovery cache (kept per host in
the temp dir) never serves one cluster's answers to another.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import itertools
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
_READY = re.compile(r"^ready (https://127\.0\.0\.1:\d+)$")
_START_TIMEOUT = 90.0


class ClusterStartError(RuntimeError):
    pass


class HttpResult:
    """A raw API answer (status, headers, body) for tests that check the wire."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def warnings(self) -> list[str]:
        """The texts of ``Warning: 299 - "..."`` headers."""
        out = []
        for value in self.headers.get_all("Warning") or []:
            match = re.match(r'^299 - "(.*)"$', value)
            if match:
                out.append(match.group(1).replace('\\"', '"').replace("\\\\", "\\"))
        return out

    def __repr__(self) -> str:
        return f"<HttpResult {self.status} {self.body[:200]!r}>"


class ClusterHandle:
    """A running local cluster: connection facts, clients and the admin endpoint."""

    def __init__(self, workdir: Path, args: Sequence[str] = (), time_scale: float = 0.05,
                 restricted_namespaces: Sequence[str] = ("restricted-ns",)) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = str(self.workdir / "kubeconfig")
        self.log_file = self.workdir / "cluster.log"
        self.restricted_namespaces = list(restricted_namespaces)
        cmd = [sys.executable, "-m", "tests.cluster", "--kubeconfig", self.kubeconfig, "--port", "0",
               "--time-scale", str(time_scale), "--restricted-namespaces", ",".join(self.restricted_namespaces),
               *args]
        self._log = open(self.log_file, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=self._log,
                                        stdin=subprocess.DEVNULL, env=env)
        self.url = self._wait_ready()
        config = yaml.safe_load(Path(self.kubeconfig).read_text())
        users = {u["name"]: u["user"] for u in config["users"]}
        self.admin_token: str = users["admin"]["token"]
        self.restricted_token: str = users["restricted"]["token"]
        ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        self.ca_file = str(self.workdir / "ca.crt")
        Path(self.ca_file).write_bytes(ca_pem)
        self._ssl = ssl.create_default_context(cafile=self.ca_file)
        self._forget_discovery_cache()

    def _forget_discovery_cache(self) -> None:
        """An earlier server may have had this port: drop the DynamicClient's cache for it."""
        digest = hashlib.md5(self.url.encode(), usedforsecurity=False).hexdigest()
        try:
            os.unlink(os.path.join(tempfile.gettempdir(), f"osrcp-{digest}.json"))
        except FileNotFoundError:
            pass

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None
        result: dict[str, Any] = {}

        def reader() -> None:
            line = self.process.stdout.readline().decode(errors="replace").strip()  # type: ignore[union-attr]
            result["line"] = line
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(_START_TIMEOUT)
        line = result.get("line")
        match = _READY.match(line or "")
        if not match:
            self.stop()
            tail = self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
            raise ClusterStartError(f"local cluster did not become ready (stdout: {line!r}); log tail:\n{tail}")
        return match.group(1)

    # -- clients ---------------------------------------------------------------------------------
    def api_client(self, context: str = "local"):
        """A ``kubernetes.client.ApiClient`` for context ``local`` (admin) or ``restricted``."""
        from kubernetes import config as kube_config
        return kube_config.new_client_from_config(config_file=self.kubeconfig, context=context)

    def http(self, method: str, path: str, body: Any = None, *, headers: Optional[dict] = None,
             user: Optional[str] = "admin", content_type: Optional[str] = None, timeout: float = 30) -> HttpResult:
        """One raw HTTPS request (``body``: dict/list -> JSON, str/bytes as is); ``user`` "admin",
        "restricted" or None (no token)."""
        host, port = self.url.rsplit("//", 1)[1].split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=self._ssl, timeout=timeout)
        sent = dict(headers or {})
        token = {"admin": self.admin_token, "restricted": self.restricted_token}.get(user or "")
        if token:
            sent.setdefault("Authorization", f"Bearer {token}")
        data: Optional[bytes] = None
        if body is not None:
            data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else \
                json.dumps(body).encode()
            sent.setdefault("Content-Type", content_type or "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return HttpResult(response.status, response.headers, response.read())
        finally:
            conn.close()

    def _admin(self, method: str, action: str, body: Optional[bytes] = None) -> Any:
        request = urllib.request.Request(f"{self.url}/_admin/{action}", data=body, method=method,
                                         headers={"Authorization": f"Bearer {self.admin_token}"})
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"admin {method} {action}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def requests(self, since: int = 0) -> list[dict]:
        """Request-log entries with ``seq`` > ``since`` (see CONTRACTS.md for the fields)."""
        return self._admin("GET", f"requests?since={int(since)}")["items"]

    def mark(self) -> int:
        """The last request-log seq so far: ``requests(since=mark)`` shows what came after."""
        return int(self._admin("GET", "mark")["seq"])

    def set_faults(self, spec: str) -> None:
        self._admin("PUT", "faults", spec.encode())

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def compact(self) -> int:
        """Forget the store history (continue tokens and watch resourceVersions from before: 410)."""
        return int(self._admin("POST", "compact")["compactedResourceVersion"])

    def drop_watches(self) -> int:
        return int(self._admin("POST", "drop-watches")["dropped"])

    def state(self) -> dict:
        return self._admin("GET", "state")

    def pvc_data(self, namespace: str, name: str, whole: bool = False) -> bytes:
        """The image bytes of a bound claim's volume (``whole``: the entire volume)."""
        return b"".join(self.pvc_chunks(namespace, name, whole))

    def pvc_sha256(self, namespace: str, name: str, whole: bool = False) -> str:
        """sha256 of the claim's image (or whole volume), hashed while streaming."""
        digest = hashlib.sha256()
        for block in self.pvc_chunks(namespace, name, whole):
            digest.update(block)
        return digest.hexdigest()

    def pvc_chunks(self, namespace: str, name: str, whole: bool = False) -> Iterator[bytes]:
        query = "?whole=true" if whole else ""
        request = urllib.request.Request(f"{self.url}/_admin/pvc-data/{namespace}/{name}{query}",
                                         headers={"Authorization": f"Bearer {self.admin_token}"})
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=60) as response:
                while True:
                    block = response.read(1024 * 1024)
                    if not block:
                        return
                    yield block
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"pvc-data {namespace}/{name}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def write_pvc_data(self, namespace: str, name: str, data: bytes) -> int:
        """Write ``data`` into the claim's volume from offset 0, as its guest would; the bytes written."""
        request = urllib.request.Request(f"{self.url}/_admin/pvc-data/{namespace}/{name}", data=data, method="PUT",
                                         headers={"Authorization": f"Bearer {self.admin_token}",
                                                  "Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=60) as response:
                return int(json.loads(response.read())["written"])
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"pvc-data {namespace}/{name}: {exc.code} {exc.read().decode(errors='replace')}") from None

    # -- lifecycle -------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def __repr__(self) -> str:
        return f"<ClusterHandle {self.url}>"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHandle]:
    handle = ClusterHandle(tmp_path_factory.mktemp("cluster"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def cluster_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``cluster_factory(*args, time_scale=0.05, restricted_namespaces=(...))`` starts another cluster
    (e.g. ``"--flavor", "kubernetes"``); all are stopped at the end of the session."""
    started: list[ClusterHandle] = []

    def start(*args: str, time_scale: float = 0.05,
              restricted_namespaces: Sequence[str] = ("restricted-ns",)) -> ClusterHandle:
        handle = ClusterHandle(tmp_path_factory.mktemp("cluster-extra"), args, time_scale, restricted_namespaces)
        started.append(handle)
        return handle
    try:
        yield start
    finally:
        for handle in started:
            handle.stop()


_NAMESPACE_COUNTER = itertools.count(1)


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "test"


@pytest.fixture
def fresh_namespace(cluster: ClusterHandle, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for one test (created via the API, deleted afterwards)."""
    from kubernetes import client
    name = f"{_slug(request.node.name)}-{next(_NAMESPACE_COUNTER)}"
    api_client = cluster.api_client()
    core = client.CoreV1Api(api_client)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        finally:
            api_client.close()
