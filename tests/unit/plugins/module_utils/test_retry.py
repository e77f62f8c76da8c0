# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._retry import (
    RetryPolicy,
    backoff_delay,
    call_with_retries,
    is_conflict,
    is_retryable,
    retry_on_conflict,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import CONNECT_FAILED, CONNECTION_ERROR


@pytest.mark.parametrize(
    "status, reason, idempotent, expected",
    [
        (429, "TooManyRequests", False, True),
        (None, CONNECT_FAILED, False, True),
        (503, "ServiceUnavailable", True, True),
        (500, "InternalError", True, True),
        (503, "ServiceUnavailable", False, False),
        (501, "NotImplemented", True, False),
        (None, CONNECTION_ERROR, True, True),
        (None, CONNECTION_ERROR, False, False),
        (None, "SSLError", True, False),
        (404, "NotFound", True, False),
        (409, "Conflict", True, False),
        (422, "Invalid", True, False),
    ],
)
def test_is_retryable(status, reason, idempotent, expected):
    assert is_retryable(KubeApiError("x", status=status, reason=reason), idempotent) is expected


def test_schema_errors_reported_as_500_are_not_retried():
    message = "failed to create typed patch object (ns/vm1; kubevirt.io/v1, Kind=VirtualMachine): .spec.x: field not declared in schema"
    assert not is_retryable(KubeApiError(message, status=500, reason="InternalError"), True)


def test_conflict_but_not_field_manager_conflict():
    assert is_conflict(KubeApiError("modified", status=409, reason="Conflict"))
    assert not is_conflict(KubeApiError("exists", status=409, reason="AlreadyExists"))
    assert not is_conflict(
        KubeApiError("conflict", status=409, reason="Conflict", causes=[{"reason": "FieldManagerConflict", "field": ".spec"}])
    )


def test_backoff_is_exponential_jittered_and_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    assert backoff_delay(1, policy, None, lambda: 0.0) == 0.5
    assert backoff_delay(1, policy, None, lambda: 1.0) == 1.0
    assert backoff_delay(2, policy, None, lambda: 1.0) == 2.0
    assert backoff_delay(10, policy, None, lambda: 1.0) == 4.0


def test_retry_after_wins_but_is_capped():
    policy = RetryPolicy(max_retry_after=10.0)
    assert backoff_delay(1, policy, 3.0, lambda: 1.0) == 3.0
    assert backoff_delay(1, policy, 120.0, lambda: 1.0) == 10.0


def _flaky(errors, value="ok"):
    calls = []

    def fn():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return value

    return fn, calls


def test_retries_until_success_and_sleeps_between():
    sleeps = []
    fn, calls = _flaky([KubeApiError("busy", status=503), KubeApiError("slow", status=429, retry_after=2.0)])
    assert call_with_retries(fn, True, RetryPolicy(attempts=5, base_delay=1.0), sleeps.append, lambda: 1.0) == "ok"
    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]


def test_gives_up_after_the_attempt_budget():
    sleeps = []
    fn, calls = _flaky([KubeApiError("busy", status=503) for dummy in range(10)])
    with pytest.raises(KubeApiError):
        call_with_retries(fn, True, RetryPolicy(attempts=3), sleeps.append, lambda: 0.0)
    assert len(calls) == 3
    assert len(sleeps) == 2


def test_non_idempotent_call_is_not_retried_on_5xx():
    fn, calls = _flaky([KubeApiError("busy", status=503)])
    with pytest.raises(KubeApiError):
        call_with_retries(fn, False, RetryPolicy(), lambda s: None, lambda: 0.0)
    assert len(calls) == 1


def test_retry_on_conflict_retries_only_stale_writes():
    fn, calls = _flaky([KubeApiError("modified", status=409, reason="Conflict")])
    assert retry_on_conflict(fn) == "ok"
    assert len(calls) == 2
    fn, calls = _flaky([KubeApiError("exists", status=409, reason="AlreadyExists")])
    with pytest.raises(KubeApiError):
        retry_on_conflict(fn)
    fn, calls = _flaky([KubeApiError("modified", status=409, reason="Conflict") for dummy in range(3)])
    with pytest.raises(KubeApiError):
        retry_on_conflict(fn, attempts=3)
    assert len(calls) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retry_after_answers_are_retried_for_any_verb(status):
    assert is_retryable(KubeApiError("x", status=status, reason="R", retry_after=1.0), False)


def test_bare_500_on_a_command_is_not_retried():
    assert not is_retryable(KubeApiError("x", status=500, reason="InternalError"), False)


def test_retry_after_retries_are_bounded_at_ten_tries_and_counted():
    errors = [KubeApiError("busy", status=503, reason="ServiceUnavailable", retry_after=1.0) for _attempt in range(12)]
    fn, calls = _flaky(errors)
    slept = []
    with pytest.raises(KubeApiError) as caught:
        call_with_retries(fn, idempotent=False, sleep=slept.append, rand=lambda: 0.0)
    assert len(calls) == 10 and slept == [1.0] * 9
    assert caught.value.attempts == 10
    assert "after 10 tries" in str(caught.value)
