"""Injected trouble, for tests and benchmarks: latency, Stripe-like rate limits, 500s, and
"drop after commit" (the work is done, the answer never arrives), which is what idempotency
keys exist for. Off unless configured; per server, changeable at /_sandbox/faults."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import asdict, dataclass, fields

from workbench.sandbox.exceptions import InvalidRequest


@dataclass
class Faults:
    latency_ms: float = 0.0  # added to every /v1 request
    jitter_ms: float = 0.0  # plus a uniform random 0..jitter_ms
    rate_limit: float = 0.0  # requests per second (token bucket); 0 = unlimited
    error_rate: float = 0.0  # share of requests answered 500 before doing any work
    drop_rate: float = 0.0  # share of requests whose connection closes after the work is done

    @classmethod
    def from_env(cls, environ=os.environ) -> Faults:
        values = {}
        for spec in fields(cls):
            raw = environ.get(f"WORKBENCH_SANDBOX_{spec.name.upper()}")
            if raw:
                values[spec.name] = raw
        return cls().updated(values)

    def updated(self, values: dict) -> Faults:
        known = {spec.name for spec in fields(self)}
        changed = asdict(self)
        for name, raw in values.items():
            if name not in known:
                raise InvalidRequest(
                    f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
                )
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidRequest(f"Invalid number for {name}: {raw!r}", param=name) from None
            if value < 0 or (name.endswith("_rate") and name != "rate_limit" and value > 1):
                raise InvalidRequest(f"Invalid {name}: {raw!r} is out of range", param=name)
            changed[name] = value
        return Faults(**changed)


class Injector:
    """Applies the current Faults; thread-safe, one per server."""

    def __init__(self, faults: Faults | None = None, seed: int | None = None):
        self.faults = faults or Faults()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._refilled = time.monotonic()

    def configure(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._tokens = faults.rate_limit

    def delay(self) -> None:
        faults = self.faults
        if faults.latency_ms or faults.jitter_ms:
            with self._lock:
                jitter = self._random.uniform(0, faults.jitter_ms)
            time.sleep((faults.latency_ms + jitter) / 1000)

    def allow(self) -> bool:
        """Token bucket holding one second of requests, refilled continuously."""
        rate = self.faults.rate_limit
        if not rate:
            return True
        with self._lock:
            now = time.monotonic()
            self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    def chance(self, rate: float) -> bool:
        if not rate:
            return False
        with self._lock:
            return self._random.random() < rate
