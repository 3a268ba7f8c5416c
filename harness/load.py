"""A bounded load driver for the real-server tests and the soak: client threads calling a
step function, every answer kept in order."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.http import Answer, Client

Step = Callable[[Client, int], Answer]


@dataclass
class Load:
    """`threads` threads, each with its own Client, calling `step(client, i)` until `stop()`
    or `max_seconds`, or `max_requests` each. Every answer is kept, in order."""

    port: int
    step: Step
    threads: int = 4
    max_seconds: float = 60.0
    max_requests: int = 100_000
    pause: float = 0.0  # between two requests of one thread
    client_timeout: float = 15.0
    tokens: list[str | None] = field(default_factory=lambda: [None])
    client_options: dict[str, Any] = field(default_factory=dict)  # Client's tls, source, headers
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, index: int) -> None:
        client = Client(
            self.port, timeout=self.client_timeout, token=self.tokens[index % len(self.tokens)], **self.client_options
        )
        deadline = time.monotonic() + self.max_seconds
        try:
            for i in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    break
                answer = self.step(client, index * self.max_requests + i)
                with self._lock:
                    self.answers.append(answer)
                if self.pause:
                    self._stop.wait(self.pause)
        finally:
            client.close()

    def start(self) -> Load:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.client_timeout + 5)
        with self._lock:
            return list(self.answers)

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started < end]


def summary(answers: list[Answer]) -> str:
    """`{status: count}` and the slowest answer, for assertion messages."""
    statuses = Counter(a.status for a in answers)
    slowest = max(answers, key=lambda a: a.seconds, default=None)
    worst = f"slowest {slowest.seconds:.2f}s {slowest.method} {slowest.path}" if slowest else "no answers"
    errors = [
        f"{a.status} {a.method} {a.path} {a.error or a.body[:200]!r}" for a in answers if not 200 <= a.status < 400
    ]
    return f"{dict(statuses)}; {worst}; first errors: {errors[:5]}"
