# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live progress of a long wait: a history in the result, and lines in the play output while it runs.

A module run as its own process cannot print while it runs (Ansible reads its stdout once, as JSON).
When the module runs inside the controller's worker (plugins/plugin_utils/_in_process.py), that
action plugin installs a sink that writes to Ansible's display: then each change of state is shown
as it happens, throttled to one line per MIN_INTERVAL seconds (the newest state pending in between
is shown when the wait ends). Either way the task result carries the history (``progress``).
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

Sink = Callable[[str], None]

_SINK: Optional[Sink] = None
# A line at most every few seconds: a 20-minute import shows its percentages without flooding.
MIN_INTERVAL = 3.0
# The history keeps its first entry and the newest ones: enough to see where a wait stalled.
HISTORY_LIMIT = 100


def set_sink(sink: Optional[Sink]) -> None:
    """Install (or remove, with None) where live progress lines go."""
    global _SINK  # pylint: disable=global-statement
    _SINK = sink


def state_summary(obj: Optional[Mapping[str, Any]]) -> str:
    """Short state of an object for a progress line: phase or printableStatus, and a percentage."""
    if obj is None:
        return "absent"
    status = obj.get("status") or {}
    parts = [str(status.get("printableStatus") or status.get("phase") or "no status yet")]
    progress = status.get("progress")
    if progress and progress != "N/A":
        parts.append(str(progress))
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        parts.append("being deleted")
    return " ".join(parts)


def conditions_summary(*types: str) -> Callable[[Optional[Mapping[str, Any]]], str]:
    """A progress line of the named conditions (``Ready=False NotFound``), for kinds without a phase."""
    def summary(obj: Optional[Mapping[str, Any]]) -> str:
        if obj is None:
            return "absent"
        by_type = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}
        parts = [("%s=%s %s" % (t, by_type[t].get("status"), by_type[t].get("reason") or "")).strip()
                 for t in types if t in by_type]
        return ", ".join(parts) or "no status yet"
    return summary


class Progress:
    """The observed states of the objects one task waits on, in order, each with its time.

    A task may wait several times (a DataVolume, then its claim): each wait is a segment, and a
    segment satisfied on its first look prints nothing.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, min_interval: float = MIN_INTERVAL) -> None:
        self._clock = clock
        self._started = clock()
        self._min_interval = min_interval
        self._last_shown: Optional[float] = None
        self._pending: Optional[Dict[str, Any]] = None
        self._segment_started = self._started
        self._segment_seen = 0
        self._segment_shown = False
        self.history: List[Dict[str, Any]] = []

    def begin(self) -> None:
        """A new wait starts."""
        self._segment_started = self._clock()
        self._segment_seen = 0
        self._segment_shown = False
        self._pending = None

    def observe(self, subject: str, state: str) -> None:
        """Record ``subject`` (``VirtualMachine ns/name``) in ``state`` unless nothing changed."""
        if self.history and self.history[-1]["subject"] == subject and self.history[-1]["state"] == state:
            return
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "elapsed": round(self._clock() - self._started, 1),
            "subject": subject,
            "state": state,
        }
        self.history.append(entry)
        if len(self.history) > HISTORY_LIMIT:
            del self.history[1]
        self._segment_seen += 1
        self._show(entry, force=False)

    def finish(self) -> None:
        """Show the newest state held back, unless the wait ended at once on its first look."""
        quick = self._segment_seen <= 1 and self._clock() - self._segment_started < self._min_interval
        if self._pending is not None and not quick:
            self._show(self._pending, force=True)
        self._pending = None

    def _show(self, entry: Dict[str, Any], force: bool) -> None:
        if _SINK is None:
            return
        now = self._clock()
        if self._segment_seen == 1 and not force:
            # A wait that is satisfied on its first look prints nothing (a fleet loop stays quiet).
            self._pending = entry
            return
        if self._pending is not None and self._pending is not entry and not self._segment_shown:
            _SINK(self._line(self._pending))  # the first look, held back until something changed
        if not force and self._last_shown is not None and now - self._last_shown < self._min_interval:
            self._pending = entry
            return
        self._pending = None
        self._last_shown = now
        self._segment_shown = True
        _SINK(self._line(entry))

    @staticmethod
    def _line(entry: Dict[str, Any]) -> str:
        return "[%s +%ss] %s: %s" % (entry["time"], entry["elapsed"], entry["subject"], entry["state"])
