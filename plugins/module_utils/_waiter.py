# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for an object to satisfy a predicate: watch-based, poll fallback, monotonic deadline."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import Predicate, describe_state
from ansible_collections.virt.kubevirt.plugins.module_utils._progress import Progress, state_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import CONNECT_FAILED, CONNECTION_ERROR

# One watch request never outlives this; the server closes it and we re-watch from the last version.
MAX_WATCH_SECONDS = 60
POLL_INTERVAL = 2.0
# Watch failures that mean "this server will not stream": fall back to polling.
_NO_WATCH_STATUSES = (403, 405, 406, 501)
# Watch failures answered by a fresh read and a new watch: the stream was cut, not refused.
_DROPPED = (CONNECTION_ERROR, CONNECT_FAILED)
# Dropped watch streams in a row (no event in between) before we give up watching and poll.
MAX_WATCH_FAILURES = 5
# Pause before re-watching after a dropped stream: short, a watch is cheap to re-open.
REWATCH_DELAY = 0.5


def _seconds(value: float) -> str:
    """'120', '2' (for 1.99998) or '0.5': what a user would have written."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else str(rounded)


def _version(obj: Optional[Mapping[str, Any]]) -> Optional[str]:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


class Waiter:
    """Waits on one named object. ``client`` is a ResourceClient (or a fake with get/watch/list)."""

    def __init__(
        self,
        client: Any,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = POLL_INTERVAL,
        progress: Optional[Progress] = None,
    ) -> None:
        self.client = client
        # Every state observed while waiting goes to ``progress`` (history and live lines).
        self.progress = progress
        self._summary: Callable[[Any], str] = state_summary
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval

    def wait(
        self,
        ref: ResourceRef,
        name: str,
        namespace: Optional[str],
        predicate: Predicate,
        timeout: float,
        description: str,
        event_kinds: Optional[Sequence[str]] = None,
        initial: Any = False,
        deleted_is_final: bool = False,
        summary: Callable[[Any], str] = state_summary,
    ) -> Optional[Dict[str, Any]]:
        """The first observed state satisfying ``predicate``; KubeApiError(reason=Timeout) if none.

        ``initial`` may pass an object (or None) the caller just read, saving a request.
        ``deleted_is_final``: the object disappearing ends the wait at once (reason Gone), for
        waits nobody will satisfy by recreating it (a VM deleted while we wait for it to run).
        A dropped stream or a 410 (compacted history) is answered with a fresh read and a new
        watch from its resourceVersion; polling is only for servers that refuse to watch.
        ``summary`` turns an observed object into its progress state (phase and percentage).
        """
        self._summary = summary
        if self.progress is not None:
            self.progress.begin()
        try:
            return self._wait(ref, name, namespace, predicate, timeout, description, event_kinds, initial, deleted_is_final)
        finally:
            if self.progress is not None:
                self.progress.finish()

    def _wait(self, ref, name, namespace, predicate, timeout, description, event_kinds, initial, deleted_is_final):
        deadline = self._clock() + max(0.0, float(timeout))
        current = self.client.get(ref, name, namespace) if initial is False else initial
        context = (ref, name, namespace, timeout, description, event_kinds)
        if self._settled(predicate, current, deleted_is_final, context):
            return current
        watching = True
        failures = 0
        while self._clock() < deadline:
            if watching:
                started = self._clock()
                try:
                    done, current = self._watch_once(ref, name, namespace, predicate, deadline, current, deleted_is_final)
                except KubeApiError as err:
                    if err.status in _NO_WATCH_STATUSES or (err.status is None and err.reason not in _DROPPED):
                        watching = False
                    elif err.status == 410 or err.status is None:
                        # Compacted (410) or cut: our resourceVersion may be stale, read afresh.
                        failures += 1
                        watching = failures < MAX_WATCH_FAILURES
                        if err.status is None:
                            self._sleep(max(0.0, min(REWATCH_DELAY, deadline - self._clock())))
                        current = self.client.get(ref, name, namespace)
                        if self._settled(predicate, current, deleted_is_final, context):
                            return current
                        continue
                    else:
                        raise
                else:
                    failures = 0
                    if done:
                        self._settled(predicate, current, deleted_is_final, context)
                        return current
                    if self._clock() - started < 1.0:
                        # The server closed the stream at once: pace the next attempt like a poll.
                        self._sleep(max(0.0, min(self.poll_interval, deadline - self._clock())))
                    continue
            self._sleep(max(0.0, min(self.poll_interval, deadline - self._clock())))
            current = self.client.get(ref, name, namespace)
            if self._settled(predicate, current, deleted_is_final, context):
                return current
        raise self._timeout(ref, name, namespace, timeout, description, current, event_kinds)

    def _settled(self, predicate: Predicate, current: Any, deleted_is_final: bool, context: Tuple) -> bool:
        """True when ``current`` satisfies the wait; raises when it is gone for good."""
        self._observe(context[0], context[1], context[2], current)
        if predicate(current):
            return True
        if current is None and deleted_is_final:
            ref, name, namespace, _timeout, description, event_kinds = context
            events = recent_events(self.client, namespace, name, kinds=event_kinds or (ref.kind,))
            message = "%s %s was deleted while waiting for it to be %s; it can never be. Recent events: %s" % (
                ref.kind, "%s/%s" % (namespace, name) if namespace else name, description, describe_events(events),
            )
            raise KubeApiError(message, reason="Gone", details={"last_state": None, "events": events})
        return False

    def _watch_once(self, ref, name, namespace, predicate, deadline, current, deleted_is_final=False):
        remaining = deadline - self._clock()
        seconds = int(min(MAX_WATCH_SECONDS, max(1.0, remaining)))
        events = self.client.watch(
            ref, namespace=namespace, name=name, resource_version=_version(current), timeout_seconds=seconds
        )
        for event_type, obj in events:
            if event_type == "BOOKMARK":
                if current is not None and _version(obj):
                    current.setdefault("metadata", {})["resourceVersion"] = _version(obj)
                continue
            if (obj.get("metadata") or {}).get("name") != name:
                continue
            current = None if event_type == "DELETED" else obj
            self._observe(ref, name, namespace, current)
            if predicate(current) or (current is None and deleted_is_final):
                return True, current
            if self._clock() >= deadline:
                break
        if current is None and predicate(None):
            return True, None
        return False, current

    def _observe(self, ref: ResourceRef, name: str, namespace: Optional[str], current: Any) -> None:
        if self.progress is not None:
            self.progress.observe("%s %s" % (ref.kind, "%s/%s" % (namespace, name) if namespace else name), self._summary(current))

    def _timeout(self, ref, name, namespace, timeout, description, current, event_kinds):
        events = recent_events(self.client, namespace, name, kinds=event_kinds or (ref.kind,))
        where = "%s/%s" % (namespace, name) if namespace else name
        message = "Timed out after %ss waiting for %s %s to be %s. Last state: %s. Recent events: %s" % (
            _seconds(timeout),
            ref.kind,
            where,
            description,
            describe_state(current),
            describe_events(events),
        )
        return KubeApiError(message, reason="Timeout", details={"last_state": current, "events": events})
