# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone, vm_ready
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE
from ansible_collections.virt.kubevirt.plugins.module_utils._waiter import Waiter


def _vm(rv, printable="Starting", ready=False, conditions=None):
    return {
        "metadata": {"name": "vm1", "namespace": "ns", "resourceVersion": str(rv)},
        "status": {"printableStatus": printable, "ready": ready, "conditions": conditions or []},
    }


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeClient:
    """get() answers from a list; each watch() call plays one scripted stream (or raises)."""

    def __init__(self, clock, gets, streams, events=None):
        self.clock, self.gets, self.streams, self.events = clock, list(gets), list(streams), events or []
        self.calls = []

    def get(self, ref, name, namespace=None):
        self.calls.append(("get", None))
        if len(self.gets) > 1:
            return self.gets.pop(0)
        return self.gets[0] if self.gets else None

    def watch(self, ref, namespace=None, name=None, resource_version=None, timeout_seconds=30, label_selector=None):
        self.calls.append(("watch", resource_version))
        stream = self.streams.pop(0) if self.streams else KubeApiError("refused", status=405)
        if isinstance(stream, KubeApiError):
            raise stream
        for seconds, event in stream:
            self.clock.now += seconds
            yield event
        self.clock.now += timeout_seconds if not stream else 0

    def list(self, ref, namespace=None, label_selector=None, field_selector=None, limit=500):
        self.calls.append(("list", field_selector))
        return self.events


def _waiter(client, clock):
    return Waiter(client, clock=clock, sleep=clock.sleep, poll_interval=2.0)


def test_satisfied_initial_object_needs_no_request():
    clock = FakeClock()
    client = FakeClient(clock, [], [])
    ready = _vm(1, "Running", True)
    assert _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready", initial=ready) is ready
    assert client.calls == []


def test_watch_from_the_read_version_until_ready():
    clock = FakeClock()
    stream = [(1, ("MODIFIED", _vm(3, "Starting"))), (1, ("BOOKMARK", {"metadata": {"resourceVersion": "4"}})), (1, ("MODIFIED", _vm(5, "Running", True)))]
    client = FakeClient(clock, [_vm(2)], [stream])
    result = _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert result["metadata"]["resourceVersion"] == "5"
    assert client.calls == [("get", None), ("watch", "2")]


def test_rewatch_after_server_closes_the_stream_resumes_from_bookmark():
    clock = FakeClock()
    first = [(30, ("BOOKMARK", {"metadata": {"resourceVersion": "9"}}))]
    second = [(1, ("MODIFIED", _vm(10, "Running", True)))]
    client = FakeClient(clock, [_vm(2)], [first, second])
    _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 120, "ready")
    assert [c for c in client.calls if c[0] == "watch"] == [("watch", "2"), ("watch", "9")]


def test_deleted_event_satisfies_is_gone():
    clock = FakeClock()
    client = FakeClient(clock, [_vm(2)], [[(1, ("DELETED", _vm(3)))]])
    assert _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", is_gone, 60, "deleted") is None


def test_expired_version_rereads_then_watches_again():
    clock = FakeClock()
    client = FakeClient(clock, [_vm(2), _vm(20)], [KubeApiError("too old", status=410, reason="Expired"), [(1, ("MODIFIED", _vm(21, "Running", True)))]])
    _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert client.calls == [("get", None), ("watch", "2"), ("get", None), ("watch", "20")]


def test_falls_back_to_polling_when_watch_is_refused():
    clock = FakeClock()
    client = FakeClient(clock, [_vm(2), _vm(3), _vm(4, "Running", True)], [KubeApiError("watch not allowed", status=403, reason="Forbidden")])
    result = _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert result["metadata"]["resourceVersion"] == "4"
    assert [c[0] for c in client.calls] == ["get", "watch", "get", "get"]
    assert clock.now == 1004.0


def test_other_watch_errors_propagate():
    clock = FakeClock()
    client = FakeClient(clock, [_vm(2)], [KubeApiError("bad", status=400, reason="BadRequest")])
    with pytest.raises(KubeApiError) as caught:
        _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert caught.value.status == 400


def test_timeout_reports_last_status_conditions_and_events():
    clock = FakeClock()
    unschedulable = _vm(3, "ErrorUnschedulable", conditions=[
        {"type": "Ready", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}
    ])
    events = [{
        "involvedObject": {"kind": "VirtualMachineInstance", "name": "vm1"}, "type": "Warning",
        "reason": "FailedScheduling", "message": "0/3 nodes are available: insufficient memory", "lastTimestamp": "t1",
    }]
    client = FakeClient(clock, [_vm(2), unschedulable], [[(5, ("MODIFIED", unschedulable))]], events=events)
    with pytest.raises(KubeApiError) as caught:
        _waiter(client, clock).wait(
            VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 10, "ready (status.ready)",
            event_kinds=("VirtualMachine", "VirtualMachineInstance"),
        )
    message = str(caught.value)
    assert caught.value.reason == "Timeout"
    assert message.startswith("Timed out after 10s waiting for VirtualMachine ns/vm1 to be ready (status.ready).")
    assert "printableStatus ErrorUnschedulable" in message
    assert "Ready=False (Unschedulable: 0/3 nodes are available)" in message
    assert "Warning VirtualMachineInstance FailedScheduling: 0/3 nodes are available: insufficient memory" in message
    assert client.calls[-1] == ("list", "involvedObject.name=vm1")
    assert clock.now <= 1000.0 + 10 + 30  # bounded by the deadline plus one watch window


def test_zero_timeout_checks_once():
    clock = FakeClock()
    client = FakeClient(clock, [_vm(2)], [])
    with pytest.raises(KubeApiError):
        _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 0, "ready")
    assert [c[0] for c in client.calls] == ["get", "list"]


def test_deleted_event_ends_a_wait_that_can_never_succeed():
    clock = FakeClock()
    stream = [(1, ("MODIFIED", _vm(3))), (1, ("DELETED", _vm(4)))]
    client = FakeClient(clock, [_vm(2)], [stream])
    with pytest.raises(KubeApiError) as caught:
        _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 120, "ready", deleted_is_final=True)
    assert caught.value.reason == "Gone" and "was deleted while waiting" in str(caught.value)
    assert clock.now < 1010


def test_dropped_watch_is_rewatched_from_a_fresh_read_not_polled():
    clock = FakeClock()
    dropped = KubeApiError("connection to the API server dropped", reason="ConnectionError")
    stream = [(1, ("MODIFIED", _vm(6, "Running", True)))]
    client = FakeClient(clock, [_vm(2), _vm(5)], [dropped, stream])
    result = _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert result["metadata"]["resourceVersion"] == "6"
    assert client.calls == [("get", None), ("watch", "2"), ("get", None), ("watch", "5")]


def test_compacted_watch_rereads_and_rewatches():
    clock = FakeClock()
    gone = KubeApiError("too old resource version", status=410, reason="Expired")
    stream = [(1, ("MODIFIED", _vm(9, "Running", True)))]
    client = FakeClient(clock, [_vm(2), _vm(8)], [gone, stream])
    assert _waiter(client, clock).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert client.calls[-1] == ("watch", "8")


def test_progress_records_every_state_seen_while_waiting():
    from ansible_collections.virt.kubevirt.plugins.module_utils._progress import Progress

    clock = FakeClock()
    client = FakeClient(clock, [_vm(1, "Stopped")], [[(1, ("MODIFIED", _vm(2, "Starting"))), (2, ("MODIFIED", _vm(3, "Running", ready=True)))]])
    progress = Progress(clock=clock)
    Waiter(client, clock=clock, sleep=clock.sleep, progress=progress).wait(VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready")
    assert [(e["subject"], e["state"], e["elapsed"]) for e in progress.history] == [
        ("VirtualMachine ns/vm1", "Stopped", 0.0),
        ("VirtualMachine ns/vm1", "Starting", 1.0),
        ("VirtualMachine ns/vm1", "Running", 3.0),
    ]


def test_progress_summary_is_the_callers():
    from ansible_collections.virt.kubevirt.plugins.module_utils._progress import Progress

    clock = FakeClock()
    client = FakeClient(clock, [_vm(1, "Running", ready=True)], [])
    progress = Progress(clock=clock)
    Waiter(client, clock=clock, sleep=clock.sleep, progress=progress).wait(
        VIRTUAL_MACHINE, "vm1", "ns", vm_ready, 60, "ready", summary=lambda obj: "custom",
    )
    assert [e["state"] for e in progress.history] == ["custom"]
