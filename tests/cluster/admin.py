"""The admin endpoint ``/_admin/...`` (admin token only; these requests are not logged).

- ``GET /_admin/requests?since=N`` -> ``{"items": [entries with seq > N], "last": N}``
- ``GET /_admin/mark`` -> ``{"seq": last seq}``
- ``GET /_admin/faults``; ``PUT /_admin/faults`` (body: the spec text); ``DELETE /_admin/faults``
- ``POST /_admin/compact``: forget history as an etcd compaction does; continue tokens and watch
  resourceVersions from before are answered 410 Expired
- ``POST /_admin/drop-watches``: cut every open watch stream (clients must re-watch)
- ``GET /_admin/state``: resourceVersion, open watches, controller errors, whether controllers are idle
- ``GET /_admin/pvc-data/<namespace>/<name>[?whole=true]``: the bytes of a bound claim's volume,
  streamed: the image (what the last import / upload / clone wrote from offset 0) or, with
  ``whole=true``, the whole volume; headers ``X-Image-Size`` and ``X-Volume-Size``
- ``PUT /_admin/pvc-data/<namespace>/<name>``: what a guest writing to its disk does: the body is
  written into the claim's volume from offset 0, as is (no decompression), and becomes its image;
  413 when the body does not fit the volume
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from .api import errors
from .api.request import Request, Response
from .controllers.disks import CHUNK, ImageTooLarge, claim_key
from .faults import FaultSpecError

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster


def handle(cluster: "Cluster", req: Request) -> Optional[Response]:
    try:
        user = cluster.auth.authenticate(req)
    except errors.ApiError as exc:
        return Response(exc.code, exc.status())
    if user != "admin":
        return Response(403, errors.ApiError(403, "Forbidden", f'forbidden: User "{user}" cannot '
                                             f'{req.method.lower()} path "{req.path}"', {}).status())
    action = req.path[len("/_admin/"):].strip("/")
    method = req.method
    if action == "requests" and method == "GET":
        since_raw = req.param("since", "0") or "0"
        if not since_raw.lstrip("-").isdigit():
            return Response(400, errors.bad_request(f"since: not an integer: {since_raw!r}").status())
        items = cluster.requestlog.since(int(since_raw))
        return Response(200, {"items": items, "last": cluster.requestlog.last})
    if action == "mark" and method == "GET":
        return Response(200, {"seq": cluster.requestlog.last})
    if action == "faults":
        if method == "GET":
            return Response(200, cluster.faults.describe())
        if method in ("PUT", "POST"):
            spec = req.body().decode("utf-8", "replace").strip()
            if spec.startswith("{"):
                try:
                    spec = str(json.loads(spec).get("spec", ""))
                except ValueError:
                    pass
            try:
                cluster.faults.set(spec)
            except FaultSpecError as exc:
                return Response(400, errors.bad_request(f"invalid fault spec: {exc}").status())
            return Response(200, cluster.faults.describe())
        if method == "DELETE":
            cluster.faults.clear()
            return Response(200, cluster.faults.describe())
    if action == "compact" and method == "POST":
        return Response(200, {"compactedResourceVersion": cluster.compact()})
    if action == "drop-watches" and method == "POST":
        return Response(200, {"dropped": cluster.store.close_watchers()})
    if action == "state" and method == "GET":
        return Response(200, cluster.state())
    if action.startswith("pvc-data/") and method == "GET":
        return _pvc_data(cluster, req, action[len("pvc-data/"):])
    if action.startswith("pvc-data/") and method == "PUT":
        return _write_pvc_data(cluster, req, action[len("pvc-data/"):])
    return Response(404, errors.ApiError(404, "NotFound", f"unknown admin action {method} {req.path}", {}).status())


def _write_pvc_data(cluster: "Cluster", req: Request, rest: str) -> Response:
    namespace, _, name = rest.partition("/")
    disks = cluster.runtime.disks
    key = claim_key(cluster.store, namespace, name)
    if key is None or not disks.exists(key):
        return Response(404, errors.ApiError(404, "NotFound", f"no volume for claim {namespace}/{name} "
                                             "(missing or not bound)", {}).status())
    sink = disks.sink(key, decompress=False)
    stream = req.body_stream()
    try:
        while True:
            block = stream.read(CHUNK)
            if not block:
                break
            sink.write(block)
    except ImageTooLarge as exc:
        sink.close(ok=False)
        return Response(413, errors.ApiError(413, "RequestEntityTooLarge", str(exc), {}).status())
    sink.close()
    return Response(200, {"written": sink.written, "imageSize": disks.image_size(key)})


def _pvc_data(cluster: "Cluster", req: Request, rest: str) -> Optional[Response]:
    namespace, _, name = rest.partition("/")
    disks = cluster.runtime.disks
    key = claim_key(cluster.store, namespace, name)
    if key is None or not disks.exists(key):
        return Response(404, errors.ApiError(404, "NotFound", f"no volume bytes for claim {namespace}/{name} "
                                             "(missing or not bound)", {}).status())
    whole = (req.param("whole") or "").lower() == "true"
    req.start_stream("application/octet-stream", [("X-Image-Size", str(disks.image_size(key))),
                                                  ("X-Volume-Size", str(disks.size(key)))])
    for block in disks.read(key, whole=whole):
        req.channel.write_chunk(block)
    req.channel.end_stream()
    return None
