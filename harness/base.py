"""What every private server needs: the repository root, a free port, progress lines, and
the Debian package of a missing program."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Progress lines (a server started, stopped, a cluster made): silent unless a caller
# hands them on with report_to(); pytest shows them beside a failing test.
logger = logging.getLogger("harness")


class _Printer(logging.Handler):
    def __init__(self, printer: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        self.printer(record.getMessage())


def report_to(printer: Callable[[str], None]) -> None:
    """Sends the harness's progress lines to `printer` (a command's own log function)."""
    logger.addHandler(_Printer(printer))
    logger.setLevel(logging.INFO)


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file ("" when there is none)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def which_or_install(program: str, package: str, why: str) -> str:
    """The path of `program`; when it is missing, says which Debian package it installs and
    why, then installs it with apt-get (as root; `apt-get update` first if needed). Not
    root: a RuntimeError naming the package to install."""
    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"{program} is missing, and {why}: install it first (sudo apt-get install {package})")
    print(f"{program} is missing, and {why}: installing the Debian package {package} (apt-get install -y {package})")
    command = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(command, check=False).returncode != 0:
        print(f"apt-get install {package} failed: running apt-get update, then installing again")
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(command, check=True)
    found = shutil.which(program)
    if found is None:
        raise RuntimeError(f"{program} still missing after installing {package}")
    return found


def wait_until(condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll `condition` until it returns something true (returned), or AssertionError
    after `timeout` seconds: the tests wait on what they expect, not for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what or condition}")
        time.sleep(interval)
