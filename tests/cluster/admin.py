"""The admin endpoint ``/_admin/...`` (admin token only; these requests are not logged).

- ``GET /_admin/requests?since=N`` -> ``{"items": [entries with seq > N], "last": N}``
- ``GET /_admin/mark`` -> ``{"seq": last seq}``
- ``GET /_admin/faults``; ``PUT /_admin/faults`` (body: the spec text); ``DELETE /_admin/faults``
- ``POST /_admin/compact``: forget history as an etcd compaction does; continue tokens and watch
  resourceVersions from before are answered 410 Expired
- ``POST /_admin/drop-watches``: cut every open watch stream (clients must re-watch)
- ``GET /_admin/state``: resourceVersion, open watches, controller errors, whether controllers are idle
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .api import errors
from .api.request import Request, Response
from .faults import FaultSpecError

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster


def handle(cluster: "Cluster", req: Request) -> Response:
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
    return Response(404, errors.ApiError(404, "NotFound", f"unknown admin action {method} {req.path}", {}).status())
