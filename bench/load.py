"""Driving load with wrk (bench/wrk/report.lua) and counting SQL with pg_stat_statements."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.common import OUT

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "report.lua"


@dataclass(frozen=True)
class Req:
    """One request of a scenario's list; `label` names it in the per-label counts."""

    label: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def line(self) -> str:
        headers = "|".join(f"{name}: {value}" for name, value in self.headers)
        for text in (self.label, self.path, headers, self.body):
            if "\t" in text or "\n" in text:
                raise ValueError(f"tab or newline in a request of {self.label}")
        return "\t".join((self.label, self.method, self.path, headers, self.body))


def write_requests(name: str, requests: Sequence[Req]) -> Path:
    path = OUT / "requests" / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(request.line() + "\n" for request in requests))
    return path


@dataclass
class Round:
    """One wrk run: its counts, and the SQL statements PostgreSQL saw meanwhile."""

    requests: int
    seconds: float
    latency_us: dict[str, float]
    socket_errors: dict[str, int]
    statuses: dict[str, int]
    cache: dict[str, int]
    labels: dict[str, int]
    label_errors: dict[str, int]
    sql_calls: int | None = None
    sql_ms: float | None = None  # execution time of those statements, summed
    top_sql: list[tuple[int, str]] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by process tree: app, postgres, redis, wrk

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def http_errors(self) -> int:
        """Answers that are not 2xx or 3xx."""
        return sum(count for status, count in self.statuses.items() if not status.startswith(("2", "3")))

    @property
    def errors(self) -> int:
        return self.http_errors + sum(self.socket_errors.values())

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def hit_rate(self) -> float | None:
        hits, misses = self.cache.get("hit", 0), self.cache.get("miss", 0)
        return hits / (hits + misses) if hits + misses else None

    @property
    def sql_per_request(self) -> float | None:
        return self.sql_calls / self.answered if self.sql_calls is not None and self.answered else None

    @property
    def sql_ms_per_request(self) -> float | None:
        return self.sql_ms / self.answered if self.sql_ms is not None and self.answered else None

    def cpu_ms_per_request(self, tree: str) -> float | None:
        seconds = self.cpu_seconds.get(tree)
        return seconds * 1000 / self.answered if seconds is not None and self.answered else None


def run_wrk(
    base_url: str,
    requests_file: Path,
    *,
    seconds: float,
    connections: int,
    threads: int,
    timeout: float = 10,
    offset: int = 0,
) -> Round:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={timeout:g}s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
    ]
    result = subprocess.run(
        command,
        env={**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_OFFSET": str(offset)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    report = next((line for line in result.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or report is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    data: dict[str, Any] = json.loads(report.removeprefix("BENCH_JSON "))
    return Round(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        latency_us={key: float(value) for key, value in data["latency_us"].items()},
        socket_errors=data["socket_errors"],
        statuses=data["statuses"] or {},
        cache=data["cache"] or {},
        labels=data["labels"] or {},
        label_errors=data["label_errors"] or {},
    )


# --- CPU per request ----------------------------------------------------------------------
# CPU time is far steadier than latency on a shared machine: a request costs about the same
# CPU whether it waited for a core or not. Read from /proc: a process's own user + system
# time, its reaped children's (Gunicorn's recycled workers, PostgreSQL's closed backends),
# and its live children's.

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        # The fields after "(comm)": state is [0], ppid [1], utime [11] ... cstime [14].
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_seconds(pid: int, children: dict[int, list[int]] | None = None) -> float:
    """User + system CPU seconds of `pid`, of its children now alive, and of those it reaped."""
    tree = children if children is not None else _children()
    fields = _stat(pid)
    if fields is None:
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / _TICK
    return own + sum(tree_cpu_seconds(child, tree) for child in tree.get(pid, []))


class CpuMeter:
    """CPU seconds spent by named process trees (and by our own children: wrk) between
    `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        tree = _children()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        readings = {name: tree_cpu_seconds(pid, tree) for name, pid in self.pids.items()}
        readings["wrk"] = usage.ru_utime + usage.ru_stime
        return readings

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {name: after[name] - self.before.get(name, 0.0) for name in after}


class SqlCounter:
    """Statements executed in one database, counted by PostgreSQL (pg_stat_statements)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def reset(self) -> None:
        self.conn.execute("SELECT pg_stat_statements_reset()")

    def read(self) -> tuple[int, float, list[tuple[int, str]]]:
        """All calls since the reset, their execution time (ms), and the most called
        statements (ours excluded)."""
        rows = self.conn.execute(
            """
            SELECT calls, total_exec_time, query FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query NOT LIKE '%%pg_stat_statements%%'
             ORDER BY calls DESC
            """
        ).fetchall()
        calls = sum(int(row[0]) for row in rows)
        milliseconds = sum(float(row[1]) for row in rows)
        return calls, milliseconds, [(int(row[0]), str(row[2])) for row in rows[:8]]


def median(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None
