"""Consistent paged lists: ``limit`` + ``continue`` with apiserver's token format and 410 Expired.

A continue token is apiserver's own shape, base64url(JSON ``{"v":"meta.k8s.io/v1","rv":N,"start":
"ns/name\\u0000"}``). Every page of a paged list is served from the snapshot at the token's
resourceVersion, rebuilt from the current objects by undoing the store's remembered events (what
etcd's MVCC does for apiserver). A token older than the remembered history (or than the last
``POST /_admin/compact``) is answered 410 Expired with apiserver's message and a fresh token that
continues inconsistently, as after an etcd compaction.
"""
from __future__ import annotations

import base64
import bisect
import binascii
import json
from dataclasses import dataclass
from typing import Callable, Optional

from . import errors
from .resources import GR
from .store import Store, key_of

_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list.")
_LIST_EXPIRED = "The resourceVersion for the provided list is too old."


class ExpiredContinue(errors.ApiError):
    """410 for a continue token older than the history; carries a token to continue inconsistently."""

    def __init__(self, fresh_token: str) -> None:
        super().__init__(410, "Expired", _CONTINUE_EXPIRED)
        self.fresh_token = fresh_token

    def status(self) -> dict:
        body = super().status()
        body["metadata"] = {"continue": self.fresh_token}
        return body


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise errors.bad_request(f"invalid continue token: continue key is not valid: {exc}") from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        version = data.get("v") if isinstance(data, dict) else None
        raise errors.bad_request("invalid continue token: continue key is not valid: server does not "
                                 f"recognize this encoded version {version}")
    rv = data.get("rv")
    if not isinstance(rv, int) or rv == 0:
        raise errors.bad_request("invalid continue token: continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
    start = data.get("start")
    if not isinstance(start, str) or not start:
        raise errors.bad_request("invalid continue token: continue key is not valid: encoded start key empty "
                                 "(version meta.k8s.io/v1)")
    return rv, start


def _start_key(start: str, namespace: Optional[str]) -> tuple[str, str]:
    """The (namespace, name) sort key just after which a page begins."""
    start = start.rstrip("\x00")
    if namespace is not None:
        return (namespace, start)
    ns, sep, name = start.partition("/")
    return (ns, name) if sep else ("", ns)


def _token_start(obj: dict, namespace: Optional[str], namespaced: bool) -> str:
    ns, name = key_of(obj)
    return f"{name}\x00" if namespace is not None or not namespaced else f"{ns}/{name}\x00"


class ListCache:
    """Sorted lists of each resource, rebuilt only after that resource changed.

    Sorting 10,000 objects costs tens of milliseconds; paging through them would pay it per page.
    An entry is a consistent snapshot taken under the store lock at its resourceVersion and is
    served with that resourceVersion (a watch from it misses nothing); a store listener drops it
    as soon as its resource changes, before the writer's request is answered.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last_event: dict[GR, int] = {}
        self._entries: dict[GR, tuple[int, list[dict]]] = {}
        store.add_listener(self._on_event)

    def _on_event(self, event) -> None:
        self._last_event[event.gr] = event.rv
        self._entries.pop(event.gr, None)

    def current(self, gr: GR, oldest: int) -> tuple[list[dict], int]:
        entry = self._entries.get(gr)
        if entry is not None and entry[0] >= oldest and self._last_event.get(gr, 0) <= entry[0]:
            return entry[1], entry[0]
        items, rv = self.store.list(gr, None)
        self._entries[gr] = (rv, items)
        return items, rv


def namespace_slice(items: list[dict], namespace: Optional[str]) -> list[dict]:
    if namespace is None:
        return items
    lo = bisect.bisect_left(items, (namespace, ""), key=key_of)
    hi = bisect.bisect_left(items, (namespace + "\x00", ""), key=key_of)
    return items[lo:hi]


def snapshot(store: Store, lists: ListCache, gr: GR, namespace: Optional[str], rv: Optional[int],
             oldest: int) -> tuple[list[dict], int]:
    """The objects of ``gr`` (sorted by namespace/name) as they were at ``rv`` (None: now)."""
    items, current = lists.current(gr, oldest)
    if rv is None or rv >= current:
        return namespace_slice(items, namespace), current
    if rv < oldest:
        raise ValueError(rv)
    with store.lock:
        watcher, backlog = store.watch(gr, None, rv)  # raises ValueError when too old
        watcher.close()
    if not backlog:
        return namespace_slice(items, namespace), rv
    # undo every change after rv, newest first (a key ends in its state before its oldest change)
    by_key = {key_of(obj): obj for obj in items}
    for event in reversed(backlog):
        key = key_of(event.obj)
        if event.type == "ADDED":
            by_key.pop(key, None)
        elif event.old is not None:
            by_key[key] = event.old
    return namespace_slice(sorted(by_key.values(), key=key_of), namespace), rv


@dataclass
class Page:
    items: list[dict]
    resource_version: int
    continue_token: str = ""
    remaining: Optional[int] = None


def list_page(store: Store, lists: ListCache, gr: GR, namespace: Optional[str], namespaced: bool, *,
              match: Callable[[dict], bool], selective: bool, limit: int, continue_token: Optional[str],
              resource_version: Optional[str], rv_match: Optional[str], oldest: int,
              name: Optional[str] = None) -> Page:
    """One page of a list request (the whole list when ``limit`` is 0)."""
    start: Optional[tuple[str, str]] = None
    at: Optional[int] = None
    if continue_token:
        if resource_version not in (None, "", "0"):
            raise errors.bad_request("specifying resource version is not allowed when using continue")
        token_rv, start_raw = decode_continue(continue_token)
        start = _start_key(start_raw, namespace if namespaced else None)
        at = token_rv if token_rv > 0 else None
        if at is not None and at < oldest:
            raise ExpiredContinue(encode_continue(-1, start_raw))
    elif resource_version and rv_match == "Exact":
        try:
            at = int(resource_version)
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {resource_version}") from None
        if at < oldest:
            raise errors.ApiError(410, "Expired", _LIST_EXPIRED)
    try:
        if name is not None and at is None and (namespace is not None or not namespaced):
            with store.lock:  # fieldSelector=metadata.name=X: no scan
                obj = store.get(gr, namespace, name)
                items, rv = ([obj] if obj is not None else []), store.resource_version
        else:
            items, rv = snapshot(store, lists, gr, namespace, at, oldest)
    except ValueError:
        if continue_token:
            raise ExpiredContinue(encode_continue(-1, decode_continue(continue_token)[1])) from None
        raise errors.ApiError(410, "Expired", _LIST_EXPIRED) from None
    index = 0
    if start is not None:
        index = _bisect(items, start)
    if limit <= 0:
        page = [obj for obj in items[index:] if match(obj)] if selective else items[index:]
        return Page(page, rv)
    if not selective:
        page = items[index:index + limit]
        end = index + len(page)
    else:
        page = []
        end = index
        while end < len(items) and len(page) < limit:
            if match(items[end]):
                page.append(items[end])
            end += 1
    if end < len(items) and page:
        token = encode_continue(rv, _token_start(page[-1], namespace, namespaced))
        remaining = None if selective else len(items) - end
        return Page(page, rv, token, remaining)
    return Page(page, rv)


def _bisect(items: list[dict], start: tuple[str, str]) -> int:
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if key_of(items[mid]) <= start:
            lo = mid + 1
        else:
            hi = mid
    return lo
