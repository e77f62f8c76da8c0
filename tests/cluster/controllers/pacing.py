"""Transition pacing for reconcilers that are also woken by unrelated events.

A reconciler may be called at any time (every write to a watched object enqueues it), but a
simulated transition must last ``steps`` x ``time_scale``. ``Pacer.ready`` remembers when an object
entered a state and answers True only once enough time has passed, scheduling a wake-up otherwise.
``PacedController`` paces by a per-object "not before" time instead (the KubeVirt controllers).
"""
from __future__ import annotations

import threading
import time
from typing import Hashable

from .runtime import Controller, ObjKey, Runtime


class Pacer:
    def __init__(self) -> None:
        self._since: dict[Hashable, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def ready(self, rt: Runtime, controller: Controller, key: ObjKey, state: str, steps: float = 1.0,
              track: Hashable | None = None) -> bool:
        """True once ``key`` has been in ``state`` for ``steps`` transitions; otherwise schedules a
        reconcile of ``key`` for that moment and returns False. ``track`` distinguishes several
        clocks per object (defaults to ``key``)."""
        track = key if track is None else track
        now = time.monotonic()
        with self._lock:
            mark = self._since.get(track)
            if mark is None or mark[0] != state:
                mark = (state, now)
                self._since[track] = mark
        remaining = mark[1] + steps * rt.time_scale - now
        if remaining <= 0:
            return True
        rt.enqueue(controller, key, delay=remaining)
        return False

    def forget(self, track: Hashable) -> None:
        with self._lock:
            self._since.pop(track, None)


class PacedController(Controller):
    """A controller whose reconciler advances an object one transition, then waits ``steps``.

    Unlike ``Pacer`` (time spent in a named state), this keeps one "not before" time per key:
    ``_step`` sets it and requeues the key; ``_due_now`` answers False (requeueing for the rest of the
    wait) when an unrelated event wakes the reconciler early.
    """

    def __init__(self) -> None:
        self._due: dict[tuple, float] = {}

    def _due_now(self, rt: Runtime, key: tuple) -> bool:
        due = self._due.get(key, 0.0)
        now = time.monotonic()
        if now + 1e-4 < due:
            rt.enqueue(self, key, delay=due - now)
            return False
        return True

    def _step(self, rt: Runtime, key: tuple, steps: float = 1.0) -> None:
        self._due[key] = time.monotonic() + steps * rt.time_scale
        rt.enqueue(self, key, delay=steps * rt.time_scale)
