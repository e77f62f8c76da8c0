"""The request log: one entry per API request answered, readable from ``/_admin/requests``.

Other tests use it to prove "check mode writes nothing" and to count requests. An entry is recorded
when the response status is sent (for a watch: when the stream starts), so ``seq`` orders requests
by the moment they were answered. Admin endpoint requests are not logged.
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any, Optional

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class RequestLog:
    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._seq = 0

    def record(self, *, method: str, path: str, query: str, content_type: str, status: int,
               user: Optional[str], verb: str, dry_run: bool) -> int:
        with self._lock:
            self._seq += 1
            self._entries.append({
                "seq": self._seq,
                "method": method,
                "path": path,
                "query": query,
                "content_type": content_type,
                "status": status,
                "user": user,
                "verb": verb,
                "write": verb in WRITE_VERBS,
                "dry_run": dry_run,
            })
            return self._seq

    @property
    def last(self) -> int:
        return self._seq

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            if not self._entries or seq >= self._seq:
                return []
            first = self._entries[0]["seq"]
            start = max(0, seq - first + 1)
            return [dict(entry) for entry in itertools.islice(self._entries, start, None)]
