"""The scale curve: single-request latency of the headline page at three data sizes."""

from __future__ import annotations

import http.client
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Latency:
    """Milliseconds of `count` sequential requests, seen by the client; and, when the app
    sent a Server-Timing header (SERVER_TIMING=true), its own total and database time."""

    samples: list[float]
    app_ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)

    @property
    def app_median(self) -> float | None:
        return statistics.median(self.app_ms) if self.app_ms else None

    @property
    def db_median(self) -> float | None:
        return statistics.median(self.db_ms) if self.db_ms else None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.samples, n=10)[-1]


@dataclass
class ScalePoint:
    size: str
    programmes: int
    enrollments: int
    cold: Latency
    warm: Latency


_TIMING = re.compile(r"(\w+);dur=([0-9.]+)")


class SequentialClient:
    """One request at a time over a keep-alive connection (http.client reconnects by itself
    when the server closes it), timing each from send to last byte."""

    def __init__(self, port: int, path: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.port = port
        self.path = path

    def time(self, count: int, into: Latency | None = None) -> Latency:
        latency = into or Latency([])
        for _ in range(count):
            start = time.perf_counter()
            self.conn.request("GET", self.path)
            response = self.conn.getresponse()
            response.read()
            latency.samples.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET {self.path} on :{self.port} answered {response.status}")
            timings = dict(_TIMING.findall(response.getheader("Server-Timing") or ""))
            if "total" in timings:
                latency.app_ms.append(float(timings["total"]))
                latency.db_ms.append(float(timings.get("db", 0)))
        return latency

    def close(self) -> None:
        self.conn.close()


def interleaved_latency(
    clients: dict[str, SequentialClient], *, count: int, warmup: int = 20, batches: int = 5
) -> dict[str, Latency]:
    """`count` timed requests per client after `warmup` untimed ones, sent in `batches`
    that take turns, so a burst of noise on the machine spreads over every client."""
    for client in clients.values():
        client.time(warmup)
    latencies = {name: Latency([]) for name in clients}
    per_batch = -(-count // batches)
    for _ in range(batches):
        for name, client in clients.items():
            client.time(min(per_batch, count - len(latencies[name].samples)), into=latencies[name])
    return latencies


def plot(points: list[ScalePoint], path: Path) -> None:
    """Median and p90 latency against the number of enrollments: cold and warm side by side,
    each on its own scale (from zero), so that a slope shows in both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    x = [point.enrollments for point in points]
    for ax, name, color in zip(axes, ("cold", "warm"), ("#c0392b", "#2471a3"), strict=True):
        medians = [getattr(point, name).median for point in points]
        p90s = [getattr(point, name).p90 for point in points]
        ax.plot(x, medians, marker="o", color=color, label="median")
        ax.plot(x, p90s, marker=".", linestyle="--", color=color, alpha=0.5, label="p90")
        for xi, yi in zip(x, medians, strict=True):
            ax.annotate(f"{yi:.1f}", (xi, yi), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{point.size}\n{point.enrollments:,}" for point in points], fontsize=8)
        ax.minorticks_off()
        ax.set_ylim(0, max(p90s) * 1.25)
        ax.set_xlabel("enrollments (log scale)", fontsize=8)
        ax.set_ylabel("ms per request, one at a time")
        title = "cold: catalogue cache off" if name == "cold" else "warm: served from the catalogue cache"
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("GET /programmes/?page=1&page_size=10: latency against data size", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
