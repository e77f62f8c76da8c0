"""Fault injection: added latency, error answers, reset connections and dropped watch streams.

Spec syntax (``--faults`` and ``PUT /_admin/faults``): rules separated by ``|`` or newlines, each
rule a ``;``-separated list of ``key=value``::

    latency=200ms;error=503:0.2;verb=list;path=/apis/kubevirt.io

Actions: ``latency=DUR`` or ``latency=DUR..DUR`` (uniform), ``error=CODE[:FRACTION]`` (429 with
Retry-After, 500, 502, 503, 504, ...), ``reset=FRACTION`` (TCP reset, no answer),
``drop-watch=DUR[:FRACTION]`` (watch streams cut DUR after they start, without a clean end).
``phase=tls`` makes a ``reset`` end the TLS connection without close_notify instead of a TCP reset
(the client sees ``SSLError: EOF occurred in violation of protocol``, as behind a load balancer).
Filters: ``verb=list,watch``, ``method=GET``, ``path=/prefix[,/other]``, ``user=admin``.
Limits: ``times=N`` (the rule acts N times, then is spent), ``retry-after=SECONDS``, ``seed=N``.
Durations: ``150ms``, ``2s``, ``1.5s`` or bare seconds. Fractions default to 1.
Decisions come from a per-rule seeded RNG, so a given request sequence sees the same faults.
"""
from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Optional

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")
_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "proxy"}


class FaultSpecError(ValueError):
    pass


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise FaultSpecError(f"invalid duration {text!r} (use e.g. 200ms, 2s)")
    value = float(match.group(1))
    unit = match.group(2) or "s"
    return value / 1000.0 if unit == "ms" else value * 60 if unit == "m" else value


def _fraction(text: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{key}: invalid fraction {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{key}: fraction must be between 0 and 1, got {text}")
    return value


@dataclass
class Rule:
    text: str
    latency: Optional[tuple[float, float]] = None
    error: Optional[int] = None
    error_fraction: float = 1.0
    reset: float = 0.0
    drop_watch: Optional[float] = None
    drop_fraction: float = 1.0
    verbs: Optional[frozenset[str]] = None
    methods: Optional[frozenset[str]] = None
    paths: tuple[str, ...] = ()
    users: Optional[frozenset[str]] = None
    times: Optional[int] = None
    retry_after: int = 1
    seed: Optional[int] = None
    phase: str = "request"
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, path: str, verb: str, user: Optional[str]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.verbs is not None and verb not in self.verbs:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        if self.paths and not any(path.startswith(prefix) for prefix in self.paths):
            return False
        if self.users is not None and (user or "") not in self.users:
            return False
        return True


def _parse_rule(text: str, index: int, default_seed: int) -> Rule:
    rule = Rule(text=text)
    for part in filter(None, (p.strip() for p in text.split(";"))):
        if "=" not in part:
            raise FaultSpecError(f"expected key=value, got {part!r}")
        key, value = (s.strip() for s in part.split("=", 1))
        key = key.lower()
        if key == "latency":
            low, _, high = value.partition("..")
            lo = parse_duration(low)
            rule.latency = (lo, parse_duration(high) if high else lo)
        elif key == "error":
            code, _, frac = value.partition(":")
            if not code.isdigit() or not 400 <= int(code) <= 599:
                raise FaultSpecError(f"error: expected an HTTP error code, got {code!r}")
            rule.error = int(code)
            rule.error_fraction = _fraction(frac, key) if frac else 1.0
        elif key == "reset":
            rule.reset = _fraction(value or "1", key)
        elif key in ("drop-watch", "dropwatch", "drop_watch"):
            after, _, frac = value.partition(":")
            rule.drop_watch = parse_duration(after)
            rule.drop_fraction = _fraction(frac, key) if frac else 1.0
        elif key == "verb":
            verbs = frozenset(v.strip().lower() for v in value.split(",") if v.strip())
            unknown = verbs - _VERBS
            if unknown:
                raise FaultSpecError(f"verb: unknown verb(s) {', '.join(sorted(unknown))}")
            rule.verbs = verbs
        elif key == "method":
            rule.methods = frozenset(v.strip().upper() for v in value.split(",") if v.strip())
        elif key == "path":
            rule.paths = tuple(v.strip() for v in value.split(",") if v.strip())
        elif key == "user":
            rule.users = frozenset(v.strip() for v in value.split(",") if v.strip())
        elif key == "times":
            if not value.isdigit():
                raise FaultSpecError(f"times: expected a count, got {value!r}")
            rule.times = int(value)
        elif key in ("retry-after", "retry_after"):
            if not value.isdigit():
                raise FaultSpecError(f"retry-after: expected seconds, got {value!r}")
            rule.retry_after = int(value)
        elif key == "phase":
            if value not in ("request", "tls"):
                raise FaultSpecError(f"phase: expected request or tls, got {value!r}")
            rule.phase = value
        elif key == "seed":
            if not value.lstrip("-").isdigit():
                raise FaultSpecError(f"seed: expected an integer, got {value!r}")
            rule.seed = int(value)
        else:
            raise FaultSpecError(f"unknown fault key {key!r}")
    if rule.latency is None and rule.error is None and not rule.reset and rule.drop_watch is None:
        raise FaultSpecError(f"rule {text!r} has no action (latency, error, reset or drop-watch)")
    if rule.phase == "tls" and not rule.reset:
        raise FaultSpecError(f"rule {text!r}: phase=tls needs reset")
    rule.rng = random.Random((rule.seed if rule.seed is not None else default_seed) * 7919 + index)
    return rule


def parse_spec(spec: str, seed: int = 0) -> list[Rule]:
    texts = [t.strip() for t in re.split(r"[|\n]", spec or "") if t.strip()]
    return [_parse_rule(text, index, seed) for index, text in enumerate(texts)]


@dataclass(frozen=True)
class Decision:
    latency: float = 0.0
    error: Optional[int] = None
    retry_after: int = 1
    reset: bool = False
    drop_watch_after: Optional[float] = None
    tls_eof: bool = False  # with reset: end the TLS stream without close_notify, not a TCP RST

    @property
    def any(self) -> bool:
        return bool(self.latency or self.error or self.reset or self.drop_watch_after is not None)


NO_FAULT = Decision()


class Faults:
    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rules: list[Rule] = []
        self.spec = ""
        if spec:
            self.set(spec)

    def set(self, spec: str) -> None:
        rules = parse_spec(spec, self._seed)  # raises FaultSpecError before changing anything
        with self._lock:
            self._rules = rules
            self.spec = "|".join(rule.text for rule in rules)

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self.spec = ""

    def describe(self) -> dict:
        with self._lock:
            return {"spec": self.spec, "rules": [
                {"rule": r.text, "remaining": r.times} for r in self._rules]}

    def decide(self, method: str, path: str, verb: str, user: Optional[str]) -> Decision:
        if not self._rules:
            return NO_FAULT
        latency = 0.0
        error: Optional[int] = None
        retry_after = 1
        reset = False
        tls_eof = False
        drop: Optional[float] = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, verb, user):
                    continue
                acted = False
                if rule.latency is not None:
                    lo, hi = rule.latency
                    latency += lo if hi <= lo else rule.rng.uniform(lo, hi)
                    acted = True
                if error is None and not reset:
                    if rule.reset and rule.rng.random() < rule.reset:
                        reset = True
                        tls_eof = rule.phase == "tls"
                        acted = True
                    elif rule.error is not None and rule.rng.random() < rule.error_fraction:
                        error, retry_after = rule.error, rule.retry_after
                        acted = True
                if rule.drop_watch is not None and verb == "watch" and drop is None:
                    if rule.rng.random() < rule.drop_fraction:
                        drop = rule.drop_watch
                        acted = True
                if acted and rule.times is not None:
                    rule.times -= 1
        return Decision(latency, error, retry_after, reset, drop, tls_eof)
