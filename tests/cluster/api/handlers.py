"""Request routing: authentication, fault injection, authorization, then the right handler.

Order per request: admin endpoint (``/_admin``, own auth) or a registered non-API route (e.g. the
CDI upload proxy, which checks its own tokens) -> bearer token (401) -> faults -> RBAC (403) ->
discovery / OpenAPI / health, or a resource request (REST verbs, watch, subresources, virtual
resources). Errors become Status bodies; unexpected exceptions 500 InternalError.
"""
from __future__ import annotations

import logging
import ssl
import time
from typing import TYPE_CHECKING, Optional

from . import errors, openapi, rest, subresources, writes
from .discovery import AGGREGATED_V2, AGGREGATED_V2BETA1, SUBRESOURCE_GROUP, wants_aggregated
from .request import Request, Response
from .resources import ResourceType
from .virtual import CRD_GR, PROJECT_GR, CustomResourceDefinitions, Projects
from .watch import WatchStream

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

log = logging.getLogger("cluster.api")

_CONNECTION_ERRORS = (BrokenPipeError, ConnectionError, ssl.SSLError, TimeoutError, OSError)
_FAULT_ERRORS = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    502: ("InternalError", "Internal error occurred: error trying to reach service: injected fault"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be "
                     "processing the request"),
}


def _text(status: int, text: str) -> Response:
    return Response(status, text.encode(), content_type="text/plain; charset=utf-8")


class ApiServer:
    """The API server's request handling, independent of the HTTP transport (see server.py)."""

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self.crds = CustomResourceDefinitions(cluster)
        self.projects = Projects(cluster)
        self._openapi_cache: dict[str, Optional[bytes]] = {}

    # -- entry ---------------------------------------------------------------------------------
    def handle(self, req: Request) -> None:
        cluster = self.cluster
        try:
            if req.path.startswith("/_admin/") or req.path == "/_admin":
                from .. import admin
                req.loggable = False
                answer = admin.handle(cluster, req)
                if answer is not None:  # None: the admin action streamed its answer itself
                    req.respond(answer)
                return
            route = self._route(req)
            if route is not None:
                req.respond(route)
            if route is not None or req.answered:
                return
            req.user = cluster.auth.authenticate(req)
            decision = cluster.faults.decide(req.method, req.path, req.verb, req.user)
            if decision.any:
                if decision.latency:
                    time.sleep(decision.latency)
                if decision.reset:
                    cluster.log_request(req, 0)
                    req.answered = True
                    # phase=tls: a FIN without TLS close_notify (the client reads an SSL EOF)
                    if decision.tls_eof:
                        req.channel.abort()
                    else:
                        req.channel.reset()
                    return
                if decision.error is not None:
                    raise self._fault_error(decision.error, decision.retry_after)
            cluster.auth.authorize(req)
            response = self._dispatch(req, decision.drop_watch_after)
            if response is not None:
                req.respond(response)
        except errors.ApiError as exc:
            if not req.answered:
                req.fail(exc)
        except _CONNECTION_ERRORS:
            raise
        except Exception as exc:  # a bug: answer like apiserver's panic recovery, keep serving
            log.exception("internal error handling %s %s", req.method, req.path)
            if not req.answered:
                req.fail(errors.internal(f"{type(exc).__name__}: {exc}"))

    @staticmethod
    def _fault_error(code: int, retry_after: int) -> errors.ApiError:
        reason, message = _FAULT_ERRORS.get(code, ("InternalError", f"Internal error occurred: injected {code}"))
        headers = {"Retry-After": str(retry_after)} if code in (429, 503) else {}
        details = {"retryAfterSeconds": retry_after} if code == 429 else {}
        return errors.ApiError(code, reason, message, details, headers)

    def _route(self, req: Request) -> Optional[Response]:
        for prefix, handler in self.cluster.registry.routes:
            if req.path.startswith(prefix):
                req.verb = "proxy"
                headers = {k: v for k, v in req.headers.items()}
                status, out_headers, body = handler(req.method, req.path, req.query, headers, req.body_stream())
                out_headers = dict(out_headers or {})
                content_type = out_headers.pop("Content-Type", "application/json")
                if body is not None and not isinstance(body, (bytes, bytearray)):  # an iterator: streamed
                    length = out_headers.pop("Content-Length", None)
                    req.respond_iter(status, body, content_type, list(out_headers.items()),
                                     None if length is None else int(length))
                    return None
                return Response(status, body or b"", content_type=content_type, headers=list(out_headers.items()))
        return None

    # -- non-resource paths --------------------------------------------------------------------
    def _non_resource(self, req: Request) -> Response:
        discovery = self.cluster.discovery
        path = req.path.rstrip("/") or "/"
        if req.method not in ("GET", "HEAD"):
            if path in ("/api", "/apis", "/version") or path.startswith(("/api/", "/apis/", "/openapi")):
                raise errors.method_not_allowed()
            return _text(404, "404 page not found\n")
        if path in ("/healthz", "/livez", "/readyz"):
            return _text(200, "ok")
        if path == "/version":
            return Response(200, discovery.version())
        if path in ("/api", "/apis"):
            aggregated = wants_aggregated(req.accept)
            if aggregated:
                content_type = AGGREGATED_V2 if aggregated.endswith("/v2") else AGGREGATED_V2BETA1
                return Response(200, discovery.aggregated(path == "/api", aggregated), content_type=content_type,
                                headers=[("Vary", "Accept")])
            return Response(200, discovery.api_versions() if path == "/api" else discovery.group_list(),
                            headers=[("Vary", "Accept")])
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            data = discovery.resource_list("", parts[1])
            if data is not None:
                return Response(200, data)
        if parts[0] == "apis" and len(parts) == 2:
            data = discovery.group(parts[1])
            if data is not None:
                return Response(200, data)
        if parts[0] == "apis" and len(parts) == 3:
            data = discovery.resource_list(parts[1], parts[2])
            if data is not None:
                return Response(200, data)
        if parts[0] == "openapi":
            return self._openapi(req, path)
        if parts[0] in ("api", "apis"):
            raise rest.not_found_path()
        return _text(404, "404 page not found\n")

    def _openapi(self, req: Request, path: str) -> Response:
        key = path
        if path == "/openapi/v2":
            accept = req.accept
            if accept and "json" not in accept and "*/*" not in accept:
                return _text(404, "404 page not found\n")  # protobuf only: kubectl tolerates 404 here
        if key not in self._openapi_cache:
            doc = None
            registry = self.cluster.registry
            if path == "/openapi/v3":
                doc = openapi.v3_index(registry)
            elif path.startswith("/openapi/v3/"):
                doc = openapi.v3_document(registry, path[len("/openapi/v3/"):])
            elif path == "/openapi/v2":
                doc = openapi.v2_document(registry)
            from .request import encode
            self._openapi_cache[key] = encode(doc) if doc is not None else None
        data = self._openapi_cache[key]
        if data is None:
            return _text(404, "404 page not found\n")
        headers = [("Cache-Control", "public, immutable")] if req.param("hash") else []
        return Response(200, data, headers=headers)

    # -- resource requests ---------------------------------------------------------------------
    def _dispatch(self, req: Request, drop_after: Optional[float]) -> Optional[Response]:
        info = req.info
        if not info.resource_request:
            return self._non_resource(req)
        cluster = self.cluster
        group, version, plural = info.group, info.version, info.resource
        if group == SUBRESOURCE_GROUP:
            if info.namespace is None and not info.name:
                answer = subresources.virt_api_info(req, plural)
                if answer is not None:
                    return answer
            if not info.name or not info.subresource or info.namespace is None:
                raise rest.not_found_path()
            return subresources.custom(cluster, req, group, version, plural, info.namespace, info.name,
                                       info.subresource)
        rtype = cluster.registry.find(group, version, plural)
        if rtype is None:
            dtype = cluster.discovery.served_type(group, version, plural)
            if dtype is not None:
                return self._discovery_only(req, dtype, version)
            raise rest.not_found_path()
        if version in rtype.deprecated_versions:
            req.warnings.append(rtype.deprecated_versions[version])
        if rtype.gr == CRD_GR:
            return self.crds.handle(req, rtype, version)
        if rtype.gr == PROJECT_GR:
            return self.projects.handle(req, rtype, version, drop_after)
        namespace = info.namespace
        if rtype.gr == ("", "namespaces"):
            namespace = None
        elif rtype.namespaced and namespace is None and (info.name or req.verb not in ("list", "watch")):
            if req.verb in ("create", "deletecollection"):
                raise errors.method_not_allowed()
            raise rest.not_found_path()
        elif not rtype.namespaced and namespace is not None:
            raise rest.not_found_path()
        if info.subresource:
            return self._subresource(req, rtype, version, namespace)
        verb = req.verb
        if verb == "get":
            return rest.get(cluster, req, rtype, version, namespace, info.name)
        if verb == "list":
            return rest.list_objects(cluster, req, rtype, version, namespace)
        if verb == "watch":
            WatchStream(cluster, req, rtype, version, namespace, drop_after=drop_after).serve()
            return None
        if verb == "create":
            if info.name:
                raise errors.method_not_allowed()
            return writes.create(cluster, req, rtype, version, namespace)
        if verb == "update":
            return writes.update(cluster, req, rtype, version, namespace, info.name)
        if verb == "patch":
            return writes.patch(cluster, req, rtype, version, namespace, info.name)
        if verb == "delete":
            return writes.delete(cluster, req, rtype, version, namespace, info.name)
        if verb == "deletecollection":
            return writes.delete_collection(cluster, req, rtype, version, namespace)
        raise errors.method_not_allowed()

    def _subresource(self, req: Request, rtype: ResourceType, version: str, namespace: Optional[str]) -> Response:
        cluster = self.cluster
        info = req.info
        sub = info.subresource
        if sub == "status" and rtype.has_status:
            if req.method == "GET":
                req.verb = "get"
                return rest.get(cluster, req, rtype, version, namespace, info.name)
            if req.method == "PUT":
                return writes.update(cluster, req, rtype, version, namespace, info.name, subresource="status")
            if req.method == "PATCH":
                return writes.patch(cluster, req, rtype, version, namespace, info.name, subresource="status")
            raise errors.method_not_allowed()
        if sub == "eviction" and rtype.gr == ("", "pods"):
            if req.method != "POST":
                raise errors.method_not_allowed()
            return subresources.evict(cluster, req, namespace or "", info.name)
        if rtype.custom:  # a CRD serves only status and scale; virt-api's live under subresources.kubevirt.io
            raise rest.not_found_path()
        return subresources.custom(cluster, req, rtype.group, version, rtype.plural, namespace, info.name, sub)

    def _discovery_only(self, req: Request, rtype: ResourceType, version: str) -> Optional[Response]:
        """Types served for discovery realism only: they exist, hold nothing, accept no writes."""
        verb = req.verb
        rv = self.cluster.store.resource_version
        if verb == "list" and not req.info.subresource:
            return rest.empty_list(rtype, version, rv)
        if verb == "watch":
            req.start_stream()
            deadline = time.monotonic() + float(rest.int_param(req, "timeoutSeconds") or 60)
            while time.monotonic() < deadline and not self.cluster.stopping.is_set():
                if req.channel.peer_closed():
                    return None
                self.cluster.stopping.wait(min(1.0, max(deadline - time.monotonic(), 0.0)))
            req.channel.end_stream()
            return None
        if verb == "get":
            raise errors.not_found(rtype.group, rtype.plural, req.info.name)
        raise errors.method_not_allowed(
            f"the server does not allow this method on the requested resource ({rtype.plural}.{rtype.group} is "
            "served for discovery only by the local test cluster)")
