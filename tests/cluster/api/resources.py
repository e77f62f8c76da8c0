"""Resource types served by the cluster, and the extension points controllers plug into.

A resource is stored once per (group, plural) whatever version it is served in; ``GR`` is that key.
The catalogue of served types (names, scope, subresources, schemas) is filled by ``api/catalog.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

GR = tuple[str, str]  # (group, plural); core group is ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str  # the storage / preferred version
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()  # "status", "scale", "eviction", ...
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    served_versions: tuple[str, ...] = ()  # all versions served; first is preferred
    deprecated_versions: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # version -> warning
    custom: bool = True  # a CRD (strategic merge patch refused with 415) or a built-in type
    schema: Optional[dict[str, Any]] = field(default=None, hash=False, compare=False)  # openAPIV3 of the object
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), hash=False, compare=False)

    @property
    def gr(self) -> GR:
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def api_version(self, version: str | None = None) -> str:
        v = version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def list_kind(self) -> str:
        return self.kind + "List"


# Admission hook: (request, new_obj, old_obj) -> None. May mutate ``new_obj`` (mutating hooks run
# first) or raise ApiError (validating). ``request`` is an AdmissionRequest.
AdmissionHook = Callable[["AdmissionRequest", Optional[dict], Optional[dict]], None]


@dataclass
class AdmissionRequest:
    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    gr: GR
    namespace: Optional[str]
    name: Optional[str]
    user: str
    dry_run: bool
    subresource: str = ""
    version: str = ""
    # Admission warnings (AdmissionResponse.warnings): the API layer sends them as "Warning: 299" headers.
    warnings: list[str] = field(default_factory=list)


@dataclass
class SubresourceCall:
    """A call to a custom subresource, e.g. PUT .../virtualmachines/NAME/start."""

    method: str
    gr: GR
    version: str
    namespace: Optional[str]
    name: str
    subresource: str  # may contain "/" (e.g. "evacuate/cancel", "portforward/22")
    body: Any
    query: dict[str, list[str]]
    user: str
    dry_run: bool


# Returns (http status, body or None). Raise ApiError for failures.
SubresourceHandler = Callable[[SubresourceCall], tuple[int, Any]]
# Raw route handler for non-API paths (e.g. the CDI upload proxy):
# (method, path, query, headers, body bytes) -> (status, headers, body bytes)
# (method, path, query, headers, body) -> (status, headers, body); body: bytes or a ``read(n)`` stream
RouteHandler = Callable[[str, str, dict, dict, Any], tuple[int, dict, bytes]]


class Registry:
    """Served resource types plus the hooks controllers register on them."""

    def __init__(self) -> None:
        self._types: dict[GR, ResourceType] = {}
        self.mutating: dict[GR, list[AdmissionHook]] = {}
        self.validating: dict[GR, list[AdmissionHook]] = {}
        self.subresource_handlers: dict[tuple[str, str, str], SubresourceHandler] = {}
        self.routes: list[tuple[str, RouteHandler]] = []  # (path prefix, handler)
        # Extra group-versions served only for discovery (openshift flavour realism).
        self.discovery_only: list[ResourceType] = []

    # -- types ---------------------------------------------------------------------------------
    def add(self, rtype: ResourceType) -> None:
        self._types[rtype.gr] = rtype

    def get(self, gr: GR) -> ResourceType:
        return self._types[gr]

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        rtype = self._types.get((group, plural))
        if rtype is None:
            return None
        if version not in (rtype.served_versions or (rtype.version,)):
            return None
        return rtype

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        for rtype in self._types.values():
            if rtype.group == group and rtype.kind == kind:
                return rtype
        return None

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    # -- hooks ---------------------------------------------------------------------------------
    def add_mutating(self, gr: GR, hook: AdmissionHook) -> None:
        self.mutating.setdefault(gr, []).append(hook)

    def add_validating(self, gr: GR, hook: AdmissionHook) -> None:
        """Validating admission; for pods/eviction use gr ("", "pods") and subresource "eviction"
        in the AdmissionRequest (operation CREATE, new_obj the Eviction body)."""
        self.validating.setdefault(gr, []).append(hook)

    def add_subresource(self, group: str, plural: str, subresource: str, handler: SubresourceHandler) -> None:
        """Handle METHOD /apis/{group}/{v}/namespaces/{ns}/{plural}/{name}/{subresource}.
        ``subresource`` may be a prefix ending in "/" (e.g. "portforward/")."""
        self.subresource_handlers[(group, plural, subresource)] = handler

    def find_subresource(self, group: str, plural: str, subresource: str) -> SubresourceHandler | None:
        handler = self.subresource_handlers.get((group, plural, subresource))
        if handler is not None:
            return handler
        for (g, p, sub), h in self.subresource_handlers.items():
            if g == group and p == plural and sub.endswith("/") and subresource.startswith(sub):
                return h
        return None

    def add_route(self, prefix: str, handler: RouteHandler) -> None:
        self.routes.append((prefix, handler))

    def admit(self, request: AdmissionRequest, new: dict | None, old: dict | None) -> None:
        for hook in self.mutating.get(request.gr, []):
            hook(request, new, old)
        for hook in self.validating.get(request.gr, []):
            hook(request, new, old)
