"""API errors rendered as Kubernetes ``Status`` objects (kube-apiserver's shapes and messages)."""
from __future__ import annotations

from typing import Any

# HTTP code for each StatusReason, as apimachinery's errors package maps them.
REASON_CODES = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


class ApiError(Exception):
    """An error answered to the client as a ``Status`` body with ``code``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:  # metav1.Status omits an empty reason (e.g. webhook denials)
            del body["reason"]
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(kind_plural: str, name: str | None, group: str = "", causes: list | None = None) -> dict:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind_plural
    if causes:
        details["causes"] = causes
    return details


def resource_label(group: str, plural: str) -> str:
    """``virtualmachines.kubevirt.io`` / ``pods``: how apiserver messages name a resource."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource_label(group, plural)} "{name}" not found',
                    _details(plural, name, group))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource_label(group, plural)} "{name}" already exists',
                    _details(plural, name, group))


def conflict(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {resource_label(group, plural)} "{name}": '
        "the object has been modified; please apply your changes to the latest version and try again",
        _details(plural, name, group))


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid. ``causes`` are {reason, message, field}; message joins them like apiserver."""
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    if len(parts) == 1:
        summary = parts[0]
    else:
        summary = "[" + ", ".join(parts) + "]"
    details = {"name": name, "group": group, "kind": kind, "causes": causes}
    if not group:
        details.pop("group")
    return ApiError(422, "Invalid", f'{kind}.{group} "{name}" is invalid: {summary}' if group
                    else f'{kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str, causes: list | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, {"causes": causes} if causes else None)


def forbidden(user: str, verb: str, group: str, plural: str, namespace: str | None,
              name: str | None = None, subresource: str = "") -> ApiError:
    resource = plural + (f"/{subresource}" if subresource else "")
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (f'{plural}{"." + group if group else ""}{" " + repr(name).replace(chr(39), chr(34)) if name else ""} '
               f'is forbidden: User "{user}" cannot {verb} resource "{resource}" '
               f'in API group "{group}" {scope}')
    return ApiError(403, "Forbidden", message, _details(plural, name, group))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    'the body of the request was in an unknown format - accepted media types include: '
                    'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
                    if content_type else "unsupported media type")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_many_requests(message: str, retry_after: int = 1) -> ApiError:
    return ApiError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after},
                    headers={"Retry-After": str(retry_after)})


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")
