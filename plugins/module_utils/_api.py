# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resource engine: typed CRUD, server-side apply, watch and lifecycle calls as plain dicts.

Every request is addressed by a known ResourceRef (no discovery), goes through bounded retries,
and in dry-run mode every write carries ``dryRun=All`` so nothing is persisted.
"""

from __future__ import annotations

import copy
import json
import random
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._retry import (
    DEFAULT_RETRY_POLICY,
    RetryPolicy,
    call_with_retries,
    retry_on_conflict,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import (
    DEFAULT_TIMEOUT,
    HttpResponse,
    Query,
    iter_lines,
    send,
)

FIELD_MANAGER = "virt.kubevirt"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
JSON = "application/json"
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")

Mutator = Callable[[Dict[str, Any]], Optional[Dict[str, Any]]]
# A fixed message prefix, or one chosen from the error (a lifecycle call "refused" vs "failed").
Action = Union[str, Callable[[KubeApiError], str]]


def object_label(ref: ResourceRef, name: Optional[str], namespace: Optional[str] = None) -> str:
    """'VirtualMachine ns/name' for messages."""
    if not name:
        return "%s in %s" % (ref.kind, namespace) if namespace else ref.kind
    return "%s %s/%s" % (ref.kind, namespace, name) if namespace and ref.namespaced else "%s %s" % (ref.kind, name)


MAX_EXPIRED_CONTINUES = 3


class ResourceClient:
    """Plain-dict access to the API of one cluster, shared by every module and plugin."""

    def __init__(
        self,
        api_client: Any,
        dry_run: bool = False,
        field_manager: str = FIELD_MANAGER,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        transport: Callable[..., HttpResponse] = send,
    ) -> None:
        self.api_client = api_client
        self.dry_run = dry_run
        self.field_manager = field_manager
        self.retry_policy = retry_policy
        self._sleep = sleep
        self._rand = rand
        self._transport = transport
        self.request_count = 0

    # -- plumbing ---------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        action: Action,
        query: Optional[Query] = None,
        body: Any = None,
        content_type: Optional[str] = None,
        idempotent: bool = True,
        stream: bool = False,
        timeout: Any = DEFAULT_TIMEOUT,
    ) -> HttpResponse:
        def attempt() -> HttpResponse:
            self.request_count += 1
            return self._transport(
                self.api_client, method, path, query=query, body=body,
                content_type=content_type, timeout=timeout, stream=stream,
            )

        try:
            return call_with_retries(attempt, idempotent, self.retry_policy, self._sleep, self._rand)
        except KubeApiError as err:
            raise err.with_context(action if isinstance(action, str) else action(err), "%s %s" % (method, path))

    def _write_query(
        self, extra: Optional[Query] = None, strict: bool = True, dry_run: Optional[bool] = None
    ) -> List[Tuple[str, Any]]:
        query: List[Tuple[str, Any]] = []
        if self.dry_run or dry_run:
            query.append(("dryRun", "All"))
        query.append(("fieldManager", self.field_manager))
        if strict:
            query.append(("fieldValidation", "Strict"))
        query.extend(extra or [])
        return query

    def _object(self, response: HttpResponse, ref: ResourceRef) -> Dict[str, Any]:
        obj = response.json()
        if not isinstance(obj, dict):
            return {}
        obj.setdefault("apiVersion", ref.api_version)
        obj.setdefault("kind", ref.kind)
        return obj

    # -- reads ------------------------------------------------------------------------------
    def get(self, ref: ResourceRef, name: str, namespace: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """The object, or None when it does not exist."""
        try:
            response = self._request("GET", ref.path(namespace, name), "Failed to get %s" % object_label(ref, name, namespace))
        except KubeApiError as err:
            if err.status == 404:
                return None
            raise
        return self._object(response, ref)

    def list_pages(
        self,
        ref: ResourceRef,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
        limit: int = 500,
    ) -> Iterator[List[Dict[str, Any]]]:
        """Pages of items; ``namespace=None`` lists cluster-wide in one paginated call chain."""
        token = None
        expired = 0
        action = "Failed to list %s" % object_label(ref, None, namespace)
        while True:
            query = [
                ("labelSelector", label_selector),
                ("fieldSelector", field_selector),
                ("limit", limit),
                ("continue", token),
            ]
            try:
                body = self._request("GET", ref.path(namespace), action, query=query).json() or {}
            except KubeApiError as err:
                # History compacted between pages: the 410 hands out a token for the rest (what the
                # API server advises); pages already read are never read twice. Bounded.
                if err.status == 410 and token and err.continue_token and expired < MAX_EXPIRED_CONTINUES:
                    expired += 1
                    token = err.continue_token
                    continue
                raise
            items = body.get("items") or []
            for item in items:
                # List items come without apiVersion/kind on a real server.
                item.setdefault("apiVersion", ref.api_version)
                item.setdefault("kind", ref.kind)
            yield items
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return

    def list(
        self,
        ref: ResourceRef,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
        limit: int = 500,
    ) -> List[Dict[str, Any]]:
        items: List[Dict[str, Any]] = []
        for page in self.list_pages(ref, namespace, label_selector, field_selector, limit):
            items.extend(page)
        return items

    def watch(
        self,
        ref: ResourceRef,
        namespace: Optional[str] = None,
        name: Optional[str] = None,
        resource_version: Optional[str] = None,
        timeout_seconds: int = 30,
        label_selector: Optional[str] = None,
    ) -> Iterator[Tuple[str, Dict[str, Any]]]:
        """(type, object) events until the server closes the stream after ``timeout_seconds``."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("fieldSelector", "metadata.name=%s" % name if name else None),
            ("labelSelector", label_selector),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", max(1, int(timeout_seconds))),
        ]
        response = self._request(
            "GET", ref.path(namespace), "Failed to watch %s" % object_label(ref, name, namespace),
            query=query, stream=True, timeout=(DEFAULT_TIMEOUT[0], timeout_seconds + 10),
        )
        try:
            for line in iter_lines(response.raw):
                try:
                    event = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    raise KubeApiError.from_response(obj.get("code"), obj).with_context(
                        "Watch of %s failed" % object_label(ref, name, namespace)
                    )
                yield kind, obj
        finally:
            response.close()

    # -- writes -----------------------------------------------------------------------------
    def create(self, ref: ResourceRef, body: Dict[str, Any], namespace: Optional[str] = None) -> Dict[str, Any]:
        name = (body.get("metadata") or {}).get("name")
        response = self._request(
            "POST", ref.path(namespace), "Failed to create %s" % object_label(ref, name, namespace),
            query=self._write_query(), body=body, content_type=JSON, idempotent=False,
        )
        return self._object(response, ref)

    def apply(
        self,
        ref: ResourceRef,
        body: Dict[str, Any],
        namespace: Optional[str] = None,
        force: bool = True,
        dry_run: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Server-side apply as field manager ``virt.kubevirt``; creates the object if missing.

        ``dry_run=True`` makes this one call a dry run even when the client is not in dry-run mode.
        """
        return self.apply_status(ref, body, namespace, force, dry_run)[0]

    def apply_status(
        self,
        ref: ResourceRef,
        body: Dict[str, Any],
        namespace: Optional[str] = None,
        force: bool = True,
        dry_run: Optional[bool] = None,
    ) -> Tuple[Dict[str, Any], bool]:
        """``apply`` plus whether this request created the object (201 Created, not 200 OK).

        A body with metadata.resourceVersion is a precondition: a stale one fails with 409
        Conflict, which the caller must answer by re-reading, so it is not re-sent here.
        """
        name = body["metadata"]["name"]
        action = "Failed to apply %s" % object_label(ref, name, namespace)
        query = self._write_query([("force", "true" if force else "false")], dry_run=dry_run)

        def attempt() -> Tuple[Dict[str, Any], bool]:
            response = self._request(
                "PATCH", ref.path(namespace, name), action, query=query, body=body, content_type=APPLY_PATCH
            )
            return self._object(response, ref), response.status == 201

        if (body.get("metadata") or {}).get("resourceVersion"):
            return attempt()
        return retry_on_conflict(attempt)

    def patch(
        self,
        ref: ResourceRef,
        name: str,
        patch: Any,
        namespace: Optional[str] = None,
        content_type: str = MERGE_PATCH,
    ) -> Dict[str, Any]:
        """Merge patch by default (idempotent, retried); JSON patches are sent once."""
        response = self._request(
            "PATCH", ref.path(namespace, name), "Failed to patch %s" % object_label(ref, name, namespace),
            query=self._write_query(), body=patch, content_type=content_type,
            idempotent=content_type == MERGE_PATCH,
        )
        return self._object(response, ref)

    def replace(self, ref: ResourceRef, body: Dict[str, Any], namespace: Optional[str] = None) -> Dict[str, Any]:
        """PUT; with metadata.resourceVersion set the server rejects stale writes with 409."""
        name = body["metadata"]["name"]
        response = self._request(
            "PUT", ref.path(namespace, name), "Failed to update %s" % object_label(ref, name, namespace),
            query=self._write_query(), body=body, content_type=JSON,
        )
        return self._object(response, ref)

    def update(
        self, ref: ResourceRef, name: str, mutate: Mutator, namespace: Optional[str] = None
    ) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
        """Read-modify-write with a retry on 409 Conflict; returns (before, after).

        ``mutate`` gets a copy of the current object and returns the desired one (or None for no
        change). A missing object gives (None, None).
        """

        def attempt() -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
            current = self.get(ref, name, namespace)
            if current is None:
                return None, None
            desired = mutate(copy.deepcopy(current))
            if desired is None or desired == current:
                return current, current
            return current, self.replace(ref, desired, namespace)

        return retry_on_conflict(attempt)

    def delete(
        self,
        ref: ResourceRef,
        name: str,
        namespace: Optional[str] = None,
        propagation_policy: Optional[str] = "Background",
        grace_period_seconds: Optional[int] = None,
    ) -> Optional[Dict[str, Any]]:
        """Delete; returns the server's answer (the object or a Status), None if already gone."""
        options: Dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        query: List[Tuple[str, Any]] = []
        if self.dry_run:
            # A DELETE body overrides query options on a real server: put dryRun in both.
            options["dryRun"] = ["All"]
            query.append(("dryRun", "All"))
        try:
            response = self._request(
                "DELETE", ref.path(namespace, name), "Failed to delete %s" % object_label(ref, name, namespace),
                query=query, body=options, content_type=JSON,
            )
        except KubeApiError as err:
            if err.status == 404:
                return None
            raise
        return response.json() or {}

    def evict(self, name: str, namespace: str) -> Dict[str, Any]:
        """POST a policy/v1 Eviction for a pod, sent once: its 429 answers (a disruption budget, or
        KubeVirt starting an evacuation) are decisions for the caller, never retried here."""
        body: Dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                                "metadata": {"name": name, "namespace": namespace}}
        query: List[Tuple[str, Any]] = []
        if self.dry_run:
            body["deleteOptions"] = {"dryRun": ["All"]}
            query.append(("dryRun", "All"))
        path = "/api/v1/namespaces/%s/pods/%s/eviction" % (namespace, name)
        action = "Eviction of Pod %s/%s refused" % (namespace, name)

        def attempt() -> HttpResponse:
            self.request_count += 1
            return self._transport(self.api_client, "POST", path, query=query, body=body,
                                   content_type=JSON, timeout=DEFAULT_TIMEOUT, stream=False)

        try:
            response = attempt()
        except KubeApiError as err:
            raise err.with_context(action, "POST %s" % path)
        return response.json() or {}

    def subresource(
        self,
        ref: ResourceRef,
        name: str,
        subresource: str,
        namespace: Optional[str] = None,
        body: Optional[Dict[str, Any]] = None,
    ) -> Optional[Dict[str, Any]]:
        """PUT a virt-api lifecycle call (start, stop, restart, migrate, ...). These are commands,
        not idempotent writes: retried only when the server asked for it (429/5xx with
        Retry-After) or the request was never sent, never after a bare 500 or a dropped connection."""
        payload = dict(body or {})
        query: List[Tuple[str, Any]] = []
        if self.dry_run:
            payload["dryRun"] = ["All"]
            query.append(("dryRun", "All"))
        label = "%s of %s" % (subresource.capitalize(), object_label(ref, name, namespace))
        response = self._request(
            "PUT", ref.path(namespace, name, subresource),
            lambda err: "%s %s" % (label, "refused" if err.refused else "failed"),
            query=query, body=payload, content_type=JSON, idempotent=False,
        )
        return response.json()
