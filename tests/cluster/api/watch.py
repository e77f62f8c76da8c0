"""Watch streams: chunked newline-delimited JSON events, as kube-apiserver's watch handler sends them.

- resourceVersion unset or "0": synthetic ADDED events for the current objects, then changes.
- resourceVersion N: the remembered events after N, then changes; older than the history (or the
  last compaction) -> one ERROR event carrying a 410 Expired Status, then the stream ends.
- ``sendInitialEvents=true&resourceVersionMatch=NotOlderThan`` (client-go WatchList): ADDED events,
  then a BOOKMARK annotated ``k8s.io/initial-events-end: "true"`` when bookmarks are allowed.
- label/field selectors: an object that stops matching is sent as DELETED, one that starts
  matching as ADDED.
- BOOKMARK events every ``bookmark_interval`` seconds when ``allowWatchBookmarks``.
- ``timeoutSeconds`` closes the stream cleanly; without it the stream lasts 30 minutes.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Optional

from . import errors
from .request import Request, encode
from .resources import ResourceType
from .rest import int_param, negotiate, partial, selection, served, to_table, validate_list_options
from .store import Event

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

_FLUSH_BYTES = 256 * 1024
_PEER_CHECK = 1.0


def _event(kind: str, obj: dict) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + encode(obj) + b"}\n"


def expired_event(rv: int, oldest: int) -> bytes:
    status = errors.ApiError(410, "Expired", f"too old resource version: {rv} ({oldest})").status()
    return _event("ERROR", status)


class WatchStream:
    def __init__(self, cluster: "Cluster", req: Request, rtype: ResourceType, version: str,
                 namespace: Optional[str], *, drop_after: Optional[float] = None,
                 convert: Optional[Callable[[dict], Optional[dict]]] = None,
                 source_gr: Optional[tuple[str, str]] = None) -> None:
        self.cluster = cluster
        self.req = req
        self.rtype = rtype
        self.version = version
        self.namespace = namespace if rtype.namespaced else None
        self.drop_after = drop_after
        self.convert = convert  # virtual resources (projects) map the source objects
        self.source_gr = source_gr or rtype.gr
        validate_list_options(req, watch=True)
        self.select = selection(req, rtype)
        self.mode = negotiate(req.accept)
        self.first_table = True
        self.bookmarks = bool(req.flag("allowWatchBookmarks"))
        timeout = int_param(req, "timeoutSeconds")
        # apiserver's min-request-timeout (1800 s); its random extension would consume the
        # controllers' deterministic RNG, so none here
        self.timeout = float(timeout) if timeout and timeout > 0 else 1800.0

    # -- encoding ------------------------------------------------------------------------------
    def _view(self, obj: dict) -> Optional[dict]:
        return self.convert(obj) if self.convert is not None else obj

    def _encode(self, kind: str, obj: dict) -> bytes:
        if self.mode == "table":
            table = to_table(self.cluster, self.rtype, [obj], self.req)
            if table is not None:
                if not self.first_table:
                    table["columnDefinitions"] = []
                self.first_table = False
                return _event(kind, table)
        elif self.mode == "partial":
            return _event(kind, partial(obj))
        return _event(kind, served(obj, self.rtype, self.version))

    def _bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: dict = {"resourceVersion": str(rv)}
        if not self.rtype.custom:
            meta["creationTimestamp"] = None
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _event("BOOKMARK", {"kind": self.rtype.kind, "apiVersion": self.rtype.api_version(self.version),
                                   "metadata": meta})

    def translate(self, event: Event) -> Optional[bytes]:
        new = self._view(event.obj)
        if event.type == "ADDED":
            return self._encode("ADDED", new) if new is not None and self.select(new) else None
        old = self._view(event.old) if event.old is not None else None
        if event.type == "DELETED":
            if (new is not None and self.select(new)) or (old is not None and self.select(old)):
                return self._encode("DELETED", new if new is not None else old)
            return None
        new_match = new is not None and self.select(new)
        old_match = old is not None and self.select(old)
        if new_match and old_match:
            return self._encode("MODIFIED", new)
        if new_match:
            return self._encode("ADDED", new)
        if old_match:
            return self._encode("DELETED", new if new is not None else old)
        return None

    # -- serving -------------------------------------------------------------------------------
    def serve(self) -> None:
        req = self.req
        store = self.cluster.store
        rv_param = req.param("resourceVersion")
        send_initial = req.flag("sendInitialEvents")
        initial: list[dict] = []
        backlog: list[Event] = []
        watcher = None
        start_rv = 0
        with store.lock:
            if send_initial or (send_initial is None and rv_param in (None, "", "0")):
                initial, start_rv = store.list(self.source_gr, self.namespace)
                watcher, _ = store.watch(self.source_gr, self.namespace, None)
            else:
                if rv_param in (None, "", "0"):
                    start_rv = store.resource_version
                    watcher, _ = store.watch(self.source_gr, self.namespace, None)
                else:
                    try:
                        start_rv = int(rv_param)
                    except ValueError:
                        raise errors.bad_request(f'invalid resource version: strconv.ParseUint: parsing '
                                                 f'"{rv_param}": invalid syntax') from None
                    oldest = self.cluster.oldest_rv()
                    if start_rv < oldest:
                        watcher = None
                    else:
                        try:
                            watcher, backlog = store.watch(self.source_gr, self.namespace, start_rv)
                        except ValueError:
                            watcher = None
        if watcher is None:
            req.start_stream()
            req.channel.write_chunk(expired_event(start_rv, self.cluster.oldest_rv()))
            req.channel.end_stream()
            return
        try:
            self._stream(watcher, initial, backlog, start_rv, bool(send_initial))
        finally:
            watcher.close()

    def _stream(self, watcher, initial: list[dict], backlog: list[Event], start_rv: int,
                send_initial: bool) -> None:
        channel = self.req.channel
        self.req.start_stream()
        started = time.monotonic()
        deadline = started + self.timeout
        drop_at = started + self.drop_after if self.drop_after is not None else None
        interval = self.cluster.bookmark_interval
        next_bookmark = started + interval
        buffer = bytearray()
        for obj in initial:
            view = self._view(obj)
            if view is not None and self.select(view):
                buffer += self._encode("ADDED", view)
                if len(buffer) >= _FLUSH_BYTES:
                    channel.write_chunk(bytes(buffer))
                    buffer.clear()
        if send_initial and self.bookmarks:
            buffer += self._bookmark(start_rv, initial_end=True)
        last_rv = start_rv
        for event in backlog:
            data = self.translate(event)
            last_rv = event.rv
            if data:
                buffer += data
        if buffer:
            channel.write_chunk(bytes(buffer))
        store = self.cluster.store
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if drop_at is not None and now >= drop_at:
                channel.abort()  # a dropped stream: no terminating chunk
                return
            wait = min(deadline - now, _PEER_CHECK)
            if self.bookmarks:
                wait = min(wait, max(next_bookmark - now, 0.0))
            if drop_at is not None:
                wait = min(wait, max(drop_at - now, 0.0))
            event = watcher.next(timeout=max(wait, 0.001))
            if event is None:
                if watcher.closed:
                    break
                now = time.monotonic()
                if self.bookmarks and now >= next_bookmark:
                    with store.lock:  # commits enqueue under this lock: an empty queue means up to date
                        if watcher.events.empty():
                            last_rv = max(last_rv, store.resource_version)
                    channel.write_chunk(self._bookmark(last_rv))
                    next_bookmark = now + interval
                elif channel.peer_closed():
                    return
                continue
            last_rv = event.rv
            data = self.translate(event)
            if data:
                channel.write_chunk(data)
        channel.end_stream()
