"""What every part of the bench shares: where its files go, and its progress lines (the
harness's own, servers started and stopped, among them)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from harness import ROOT, report_to

OUT = ROOT / "bench" / "out"
LOGS = OUT / "logs"
VENV_BIN = Path(sys.executable).parent

_STARTED = time.monotonic()


def log(message: str) -> None:
    """One progress line, with the time since the bench started."""
    elapsed = int(time.monotonic() - _STARTED)
    print(f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


report_to(log)
