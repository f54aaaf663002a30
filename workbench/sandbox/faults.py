"""Injected trouble, for tests and benchmarks: latency, Stripe-like rate limits, 500s, and
"drop after commit" (the work is done, the answer never arrives), which is what idempotency
keys exist for. Off unless configured; per server, changeable at /_sandbox/faults."""

from __future__ import annotations

import math
import os
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, fields

from workbench.sandbox.exceptions import InvalidRequest

# Plain decimals: float() would also take "nan", "inf", "1e309" and "١", each of which turns
# every later request into a 500 or a 429.
DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")
MAXIMUM = {
    "latency_ms": 60_000.0,
    "jitter_ms": 60_000.0,
    "rate_limit": 1_000_000.0,
    "error_rate": 1.0,
    "drop_rate": 1.0,
}


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
        """A copy with `values` (text or numbers) applied, each checked: finite, in range."""
        changed = asdict(self)
        for name, raw in values.items():
            if name not in MAXIMUM:
                raise InvalidRequest(
                    f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
                )
            changed[name] = checked(name, raw)
        return Faults(**changed)


def checked(name: str, raw) -> float:
    """A fault setting from text or a number, or the 400 that says why not."""
    text = isinstance(raw, str) and DECIMAL.fullmatch(raw)
    if not (text or isinstance(raw, int | float) and not isinstance(raw, bool)):
        raise InvalidRequest(f"Invalid number for {name}: {str(raw)[:40]!r}", param=name)
    value = float(raw)
    if not (math.isfinite(value) and 0 <= value <= MAXIMUM[name]) or (
        name == "rate_limit" and 0 < value < 1
    ):
        least = "0 (off) or 1" if name == "rate_limit" else "0"
        raise InvalidRequest(
            f"Invalid {name}: {raw!r} is out of range ({least} to {MAXIMUM[name]:g})", param=name
        )
    return value


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
