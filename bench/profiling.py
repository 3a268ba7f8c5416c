"""Where a Gunicorn worker's CPU goes under load: py-spy samples, summarised as text.

Only samples of threads holding the GIL are kept (`--gil`): Python code at work, not
threads waiting for PostgreSQL, Redis or the client (those let go of the GIL).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import OUT, VENV_BIN
from harness import ROOT

# Layers by the file of a frame, first match wins.
LAYERS: tuple[tuple[str, str], ...] = (
    ("/rest_framework_simplejwt/", "simplejwt"),
    ("/rest_framework/", "DRF"),
    ("/django_filters/", "django-filter"),
    ("/django_redis/", "Redis client"),
    ("/redis/", "Redis client"),
    ("/psycopg", "psycopg"),
    ("/django/db/", "Django ORM"),
    ("/django/", "Django (other)"),
    ("/whitenoise/", "WhiteNoise"),
    ("/corsheaders/", "CORS headers"),
    ("/gunicorn/", "Gunicorn"),
    ("/orjson", "orjson"),
    ("/site-packages/", "other packages"),
)
PROJECT_DIRS = ("/accounts/", "/config/", "/core/", "/courses/", "/programmes/", "/bench/")
# Frames that only pass the request along (threads, Gunicorn's loop, Django's handler and
# middleware wrappers): on nearly every stack, they say nothing about the cost.
PLUMBING = (
    "/threading.py",
    "/concurrent/futures/",
    "/gunicorn/arbiter.py",
    "/gunicorn/app/",
    "/gunicorn/workers/base.py",
    "/gunicorn/workers/gthread.py",
    "/django/core/handlers/",
    "/django/utils/deprecation.py",
    "/django/views/decorators/",
    "/rest_framework/viewsets.py",
    "/drf_spectacular/drainage.py",
)

# Frames on top of a thread that waits for work (Gunicorn's loop, its thread pool, the
# arbiter): py-spy cannot always tell these waits from work, so they are left out.
IDLE = re.compile(
    r"^(\w*Selector\.select \(.*/selectors\.py|_worker \(.*/concurrent/futures/thread\.py"
    r"|Arbiter\.(wait_for_signals|sleep) \(.*/gunicorn/arbiter\.py|Condition\.wait \(.*/threading\.py)"
)

# Brisk functions that only pass a call through (middleware chains, execute wrappers).
PASS_THROUGH = re.compile(r"(Middleware\.__call__|QueryTimer\.__call__|watch_writes)$")

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Profile:
    samples: int
    idle: float  # share of all samples left out as waits for work
    layers: list[tuple[str, float]]  # layer, share of samples (leaf frame)
    inclusive: list[tuple[str, float]]  # function, share of samples with it on the stack
    leaves: list[tuple[str, float]]  # function, share of samples with it on top
    brisk: list[tuple[str, float]]  # the Brisk function nearest the top, share of samples
    raw_path: Path


def layer_of(file: str) -> str:
    for marker, name in LAYERS:
        if marker in file:
            return name
    if is_project(file):
        return "Brisk code"
    return "Python stdlib / interpreter"


def is_project(file: str) -> bool:
    return file.startswith(str(ROOT)) and "/.venv/" not in file and any(part in file for part in PROJECT_DIRS)


def _short(function: str, file: str) -> str:
    tail = "/".join(Path(file).parts[-2:]) if file else "?"
    return f"{function} ({tail})"


def record(pid: int, seconds: float, name: str) -> Path:
    """Samples the process `pid` and its children (Gunicorn's workers) for `seconds`."""
    raw = OUT / "profiles" / f"{name}.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(VENV_BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--nonblocking",
            "--gil",  # Python at work: a thread waiting on a socket has let go of the GIL
            "--full-filenames",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )
    return raw


def summarise(raw: Path, top: int = 15) -> Profile:
    """Shares of samples by layer (of the frame on top), and by function."""
    total = idle = 0
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    brisk: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [match for frame in stack.split(";") if (match := _FRAME.match(frame))]
        if not frames:
            continue
        if IDLE.match(frames[-1].string):
            idle += count
            continue
        total += count
        leaf = frames[-1]
        layers[layer_of(leaf["file"] or "")] += count
        leaves[_short(leaf["function"], leaf["file"] or "")] += count
        for name in {
            _short(frame["function"], frame["file"] or "")
            for frame in frames
            if not any(part in (frame["file"] or "") for part in PLUMBING)
            and not PASS_THROUGH.search(frame["function"])
        }:
            inclusive[name] += count
        nearest = next(
            (
                frame
                for frame in reversed(frames)
                if is_project(frame["file"] or "") and not PASS_THROUGH.search(frame["function"])
            ),
            None,
        )
        brisk[_short(nearest["function"], nearest["file"]) if nearest else "(outside Brisk code)"] += count
    if not total:
        return Profile(0, 1.0, [], [], [], [], raw)

    def shares(counter: Counter[str], limit: int) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(limit)]

    return Profile(
        total,
        idle / (total + idle),
        shares(layers, len(layers)),
        shares(inclusive, top),
        shares(leaves, top),
        shares(brisk, top),
        raw,
    )
