# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounded, jittered retries for transient API failures (429, 5xx, dropped connections)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import CONNECT_FAILED, CONNECTION_ERROR

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A server asking for a longer pause than this still gets retried, just sooner.
    max_retry_after: float = 30.0
    # Answers with Retry-After are retried for every verb, like client-go (maxRetries 10).
    retry_after_attempts: int = 10


DEFAULT_RETRY_POLICY = RetryPolicy()
CONFLICT_ATTEMPTS = 5


def server_asked_to_retry(err: KubeApiError) -> bool:
    """429 or 5xx with Retry-After: the server did not act on the request and says when to retry
    (client-go's checkWait), so it is safe for every verb, lifecycle commands included."""
    return err.retry_after is not None and err.status is not None and (err.status == 429 or err.status >= 500)


def is_retryable(err: KubeApiError, idempotent: bool) -> bool:
    """429, Retry-After answers and never-sent requests are always safe; other 5xx and dropped
    connections only if idempotent."""
    if err.status == 429 or err.reason == CONNECT_FAILED or server_asked_to_retry(err):
        return True
    if not idempotent or err.is_schema_error:
        return False
    if err.status is not None and 500 <= err.status <= 599:
        return err.status != 501
    return err.status is None and err.reason == CONNECTION_ERROR


def is_conflict(err: KubeApiError) -> bool:
    """A stale resourceVersion (retry with a fresh read), not a field-manager or KubeVirt refusal."""
    return err.status == 409 and err.reason == "Conflict" and not any(
        (cause.get("reason") or "").startswith("FieldManagerConflict") for cause in err.causes
    )


def _attempt_loop(
    fn: Callable[[], T],
    attempts: Callable[[KubeApiError], int],
    should_retry: Callable[[KubeApiError], bool],
    pause: Callable[[int, KubeApiError], None],
) -> T:
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except KubeApiError as err:
            if attempt >= attempts(err) or not should_retry(err):
                if err.attempts is None:  # the innermost loop counted the requests
                    err.attempts = attempt
                raise
            pause(attempt, err)


def retry_on_conflict(fn: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Call ``fn`` again (it must re-read what it writes) while it fails with a stale-version 409."""
    return _attempt_loop(fn, lambda err: attempts, is_conflict, lambda attempt, err: None)


def backoff_delay(
    attempt: int, policy: RetryPolicy, retry_after: Optional[float], rand: Callable[[], float]
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): Retry-After wins."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    # "Equal jitter": never less than half the ceiling, so retries stay spread but bounded.
    return ceiling / 2 + rand() * ceiling / 2


def call_with_retries(
    fn: Callable[[], T],
    idempotent: bool,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    return _attempt_loop(
        fn,
        lambda err: policy.retry_after_attempts if server_asked_to_retry(err) else policy.attempts,
        lambda err: is_retryable(err, idempotent),
        lambda attempt, err: sleep(backoff_delay(attempt, policy, err.retry_after, rand)),
    )
