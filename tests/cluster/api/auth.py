"""Bearer-token authentication and the two users' authorization, with apiserver's messages.

``admin`` may do anything. ``restricted`` holds the namespace ``admin`` role in the namespaces of
``--restricted-namespaces`` only (a RoleBinding, as on a shared OpenShift cluster): any verb on
namespaced resources there, get/watch on those Namespace objects, the OpenShift project list
(filtered to them, as the projects API does), discovery and OpenAPI; everything else, including
cluster-wide lists and nodes, is 403 Forbidden.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Iterable, Optional

from . import errors
from .request import Request

ADMIN = "admin"
RESTRICTED = "restricted"

# Non-resource paths every authenticated user may GET (system:discovery, system:public-info-viewer).
_PUBLIC_PREFIXES = ("/api", "/apis", "/openapi", "/version", "/healthz", "/readyz", "/livez")
_PROJECTS = ("project.openshift.io", "projects")


class Auth:
    def __init__(self, restricted_namespaces: Iterable[str], admin_token: Optional[str] = None,
                 restricted_token: Optional[str] = None) -> None:
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self.restricted_token = restricted_token or secrets.token_urlsafe(32)
        self.restricted_namespaces = tuple(restricted_namespaces)

    def authenticate(self, request: Request) -> str:
        """The user name of a valid bearer token; 401 otherwise (anonymous access is off)."""
        header = request.headers.get("Authorization", "") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if hmac.compare_digest(token, self.admin_token):
                return ADMIN
            if hmac.compare_digest(token, self.restricted_token):
                return RESTRICTED
        raise errors.unauthorized()

    def visible_namespaces(self, user: Optional[str]) -> Optional[tuple[str, ...]]:
        """None when the user sees every namespace."""
        return None if user == ADMIN else self.restricted_namespaces

    def authorize(self, request: Request) -> None:
        user = request.user
        if user == ADMIN:
            return
        info = request.info
        verb = request.verb
        if not info.resource_request:
            if request.method in ("GET", "HEAD") and any(
                    request.path == p or request.path.startswith(p + "/") for p in _PUBLIC_PREFIXES):
                return
            raise errors.ApiError(403, "Forbidden", f'forbidden: User "{user}" cannot '
                                  f'{request.method.lower()} path "{request.path}"', {})
        allowed = self.restricted_namespaces
        gr = (info.group, info.resource)
        if gr == _PROJECTS:
            # the projects API lists only the projects the user can see; direct access needs a binding
            if verb in ("list", "watch"):
                return
            if verb in ("get", "update", "patch", "delete") and info.name in allowed:
                return
            raise errors.forbidden(user or "", verb, info.group, info.resource,
                                   info.name or None, info.name or None, info.subresource)
        if gr == ("", "namespaces"):
            if info.name and info.name in allowed and verb in ("get",) and not info.subresource:
                return
            raise errors.forbidden(user or "", verb, "", "namespaces", info.namespace if info.name else None,
                                   info.name or None, info.subresource)
        if info.namespace and info.namespace in allowed:
            return
        raise errors.forbidden(user or "", verb, info.group, info.resource, info.namespace,
                               info.name or None, info.subresource)
