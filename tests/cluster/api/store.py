"""In-memory object store: one resourceVersion counter, a bounded event history and watch fan-out.

Stored objects are treated as frozen: ``commit`` takes ownership of the dict it is given, and
readers (``get``/``list``) receive the stored dicts themselves for speed. Never mutate what you
read; ``copy.deepcopy`` it first (``ObjectService`` does this for you).
"""
from __future__ import annotations

import operator
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .resources import GR

Key = tuple[str, str]  # (namespace or "", name)

# How many events the store remembers for watches that resume from a resourceVersion; older
# resourceVersions get 410 Gone, as after an etcd compaction.
HISTORY_SIZE = 200_000


@dataclass(frozen=True)
class Event:
    rv: int
    gr: GR
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict
    old: Optional[dict]  # previous state (None for ADDED)

    @property
    def namespace(self) -> str:
        return self.obj.get("metadata", {}).get("namespace", "") or ""


class Watcher:
    """A subscription to the events of one resource (optionally one namespace)."""

    def __init__(self, store: "Store", gr: GR, namespace: str | None) -> None:
        self.store = store
        self.gr = gr
        self.namespace = namespace
        self.events: "queue.Queue[Optional[Event]]" = queue.Queue()
        self.closed = False

    def matches(self, event: Event) -> bool:
        return event.gr == self.gr and (not self.namespace or event.namespace == self.namespace)

    def next(self, timeout: float | None) -> Event | None:
        """The next event, or None on timeout or when the watcher was closed."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store._unwatch(self)
            self.events.put(None)


Listener = Callable[[Event], None]


_FIRST = operator.itemgetter(0)


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


class Store:
    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self.lock = threading.RLock()
        self._rv = 1000
        self._data: dict[GR, dict[Key, dict]] = {}
        self._history: deque[Event] = deque(maxlen=history_size)
        self._watchers: list[Watcher] = []
        self._listeners: list[Listener] = []
        # owner uid -> {(gr, key)}: dependents for garbage collection
        self._dependents: dict[str, set[tuple[GR, Key]]] = {}

    # -- reads ---------------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def oldest_rv(self) -> int:
        """Watches from a resourceVersion older than this get 410 Gone."""
        with self.lock:
            return self._history[0].rv - 1 if len(self._history) == self._history.maxlen else 0

    def get(self, gr: GR, namespace: str | None, name: str) -> dict | None:
        return self._data.get(gr, {}).get((namespace or "", name))

    def list(self, gr: GR, namespace: str | None = None) -> tuple[list[dict], int]:
        """(objects sorted by namespace/name, resourceVersion of the snapshot)."""
        with self.lock:
            bucket = self._data.get(gr, {})
            if namespace:
                pairs = [pair for pair in bucket.items() if pair[0][0] == namespace]
            else:
                pairs = list(bucket.items())
            rv = self._rv
        pairs.sort(key=_FIRST)  # the (namespace, name) keys: compared in C, no per-item Python call
        return [obj for _, obj in pairs], rv

    def count(self, gr: GR) -> int:
        return len(self._data.get(gr, {}))

    def dependents(self, owner_uid: str) -> list[tuple[GR, dict]]:
        with self.lock:
            found = []
            for gr, key in sorted(self._dependents.get(owner_uid, ())):
                obj = self._data.get(gr, {}).get(key)
                if obj is not None:
                    found.append((gr, obj))
            return found

    def groups(self) -> Iterable[GR]:
        return list(self._data)

    # -- writes --------------------------------------------------------------------------------
    def next_rv(self) -> int:
        with self.lock:
            self._rv += 1
            return self._rv

    def commit(self, gr: GR, event_type: str, obj: dict) -> dict:
        """Store (ADDED/MODIFIED) or remove (DELETED) ``obj``; assigns a new resourceVersion.
        Returns the stored object. The caller must hold no references it will mutate later."""
        with self.lock:
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            key = key_of(obj)
            bucket = self._data.setdefault(gr, {})
            old = bucket.get(key)
            if event_type == "DELETED":
                bucket.pop(key, None)
            else:
                bucket[key] = obj
            self._index_owners(gr, key, old, None if event_type == "DELETED" else obj)
            event = Event(rv, gr, event_type, obj, old)
            self._history.append(event)
            for watcher in list(self._watchers):
                if watcher.matches(event):
                    watcher.events.put(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return obj

    def _index_owners(self, gr: GR, key: Key, old: dict | None, new: dict | None) -> None:
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            for ref in obj["metadata"].get("ownerReferences") or ():
                uid = ref.get("uid")
                if not uid:
                    continue
                if add:
                    self._dependents.setdefault(uid, set()).add((gr, key))
                else:
                    deps = self._dependents.get(uid)
                    if deps is not None:
                        deps.discard((gr, key))
                        if not deps:
                            del self._dependents[uid]

    # -- watch ---------------------------------------------------------------------------------
    def watch(self, gr: GR, namespace: str | None, since_rv: int | None) -> tuple[Watcher, list[Event]]:
        """Subscribe; returns the watcher and the remembered events after ``since_rv`` (None:
        none). Raises ValueError when ``since_rv`` is older than the history (caller answers 410)."""
        with self.lock:
            backlog: list[Event] = []
            if since_rv is not None and since_rv < self._rv:
                if since_rv < self.oldest_rv:
                    raise ValueError(f"too old resource version: {since_rv} ({self.oldest_rv + 1})")
                watcher = Watcher(self, gr, namespace)
                backlog = [e for e in self._history if e.rv > since_rv and watcher.matches(e)]
            else:
                watcher = Watcher(self, gr, namespace)
            self._watchers.append(watcher)
            return watcher, backlog

    def _unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def close_watchers(self, predicate: Callable[[Watcher], bool] = lambda w: True) -> int:
        """Close matching watch streams (fault injection: dropped watches; shutdown)."""
        with self.lock:
            victims = [w for w in self._watchers if predicate(w)]
        for watcher in victims:
            watcher.close()
        return len(victims)

    def add_listener(self, listener: Listener) -> None:
        """Called synchronously after every commit, outside the lock; must be quick."""
        with self.lock:
            self._listeners.append(listener)
