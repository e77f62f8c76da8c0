# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one exception the engine raises, built from Kubernetes Status objects."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

# Short hints for statuses whose server message alone rarely tells a user what to fix.
_HINTS = {
    401: "the cluster rejected the credentials; check api_key, kubeconfig and context",
}
# Server-side apply reports fields missing from the schema as a 500 with this text (see
# kubernetes/kubernetes#139253): deterministic, not a server fault.
SCHEMA_ERROR_MARKER = "field not declared in schema"
_SCHEMA_HINT = "unknown or misspelled field: it is not part of the resource's schema"


def _decode(body: Any) -> Optional[Dict[str, Any]]:
    if body is None:
        return None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def parse_retry_after(headers: Optional[Mapping[str, Any]]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds form only, as the API server sends)."""
    if not headers:
        return None
    value = None
    for key in headers:
        if str(key).lower() == "retry-after":
            value = headers[key]
            break
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


class KubeApiError(Exception):
    """A failed call to the cluster (or a wait that ran out of time).

    ``status`` is the HTTP code (None for connection errors and timeouts), ``reason`` the Status
    reason (NotFound, Conflict, Invalid, ...), ``causes`` the Status details causes as
    ``{field, message, reason}`` dicts.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        causes: Optional[List[Dict[str, Any]]] = None,
        retry_after: Optional[float] = None,
        context: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.causes = list(causes or [])
        self.retry_after = retry_after
        self.context = context
        self.details = details or {}
        # Set by the engine: how many times the request was sent, and "METHOD /path" of it.
        self.attempts: Optional[int] = None
        self.request: Optional[str] = None
        # A 410 for an expired list continue token carries one to read the rest (inconsistently).
        self.continue_token: Optional[str] = None
        # Extra result keys of the failed task (what a module did and saw before it failed).
        self.result_fields: Dict[str, Any] = {}

    @classmethod
    def from_response(
        cls,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, Any]] = None,
        http_reason: Optional[str] = None,
    ) -> "KubeApiError":
        """Build from an HTTP error answer whose body is (usually) a v1 Status."""
        decoded = _decode(body) or {}
        details = decoded.get("details") if isinstance(decoded.get("details"), dict) else {}
        causes = []
        for cause in details.get("causes") or []:
            if isinstance(cause, dict):
                causes.append(
                    {
                        "field": cause.get("field"),
                        "message": cause.get("message"),
                        "reason": cause.get("reason"),
                    }
                )
        message = decoded.get("message")
        if not message:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            message = (text.strip() if isinstance(text, str) and text.strip() else None) or http_reason or "request failed"
        error = cls(
            message=message,
            status=decoded.get("code") or status,
            reason=decoded.get("reason") or http_reason,
            causes=causes,
            retry_after=parse_retry_after(headers),
            details=details,
        )
        metadata = decoded.get("metadata") if isinstance(decoded.get("metadata"), dict) else {}
        if isinstance(metadata.get("continue"), str) and metadata["continue"]:
            error.continue_token = metadata["continue"]
        return error

    @classmethod
    def from_api_exception(cls, exc: Any) -> "KubeApiError":
        """Convert a ``kubernetes.client.ApiException`` (any client version)."""
        status = getattr(exc, "status", None) or None
        return cls.from_response(
            status=status,
            body=getattr(exc, "body", None),
            headers=getattr(exc, "headers", None),
            http_reason=getattr(exc, "reason", None),
        )

    def with_context(self, context: str, request: Optional[str] = None) -> "KubeApiError":
        if not self.context:
            self.context = context
        if request and not self.request:
            self.request = request
        return self

    @property
    def refused(self) -> bool:
        """The server answered and declined (a 4xx), as opposed to failing or not answering."""
        return self.status is not None and 400 <= self.status <= 499 and self.status != 429

    @property
    def is_schema_error(self) -> bool:
        return SCHEMA_ERROR_MARKER in (self.message or "")

    def field_summary(self) -> str:
        """'field: message' for every cause whose field the main message does not already name."""
        parts = []
        for cause in self.causes:
            field = cause.get("field")
            text = cause.get("message") or cause.get("reason") or ""
            if text and text in self.message:
                text = ""  # already said; only the field is news
            if field and field not in self.message:
                parts.append("%s: %s" % (field, text) if text else "field %s" % field)
            elif not field and text:
                parts.append(text)
        return "; ".join(parts)

    def __str__(self) -> str:
        head = []
        if self.status:
            # "404 NotFound"; engine-side failures (timeouts, bad options) need no prefix.
            head.append(str(self.status))
            if self.reason:
                head.append(self.reason)
        text = self.message
        if head:
            text = "%s: %s" % (" ".join(head), text)
        fields = self.field_summary()
        if fields:
            text = "%s (%s)" % (text, fields)
        hint = _HINTS.get(self.status or 0)
        if self.is_schema_error:
            hint = _SCHEMA_HINT
        if hint:
            text = "%s (%s)" % (text, hint)
        if self.attempts and self.attempts > 1:
            text = "%s after %s tries" % (text, self.attempts)
        if self.request and not self.refused:
            # Which request gave up matters for failures; a refusal's message says it already.
            text = "%s (request: %s)" % (text, self.request)
        if self.context:
            text = "%s: %s" % (self.context, text)
        return " ".join(text.split("\n"))

    def to_result(self) -> Dict[str, Any]:
        """Keyword arguments for ``AnsibleModule.fail_json``."""
        result: Dict[str, Any] = {"msg": str(self)}
        if self.status is not None:
            result["status"] = self.status
        if self.reason:
            result["reason"] = self.reason
        if self.causes:
            result["causes"] = self.causes
        if self.attempts:
            result["attempts"] = self.attempts
        for key, value in self.result_fields.items():
            result.setdefault(key, value)
        return result


def from_api_exception(exc: Any) -> KubeApiError:
    return KubeApiError.from_api_exception(exc)
