"""The HTTP client of the tests and the bench: keep-alive connections that never raise for
a status, and one answer type, `Answer`, for everything they send."""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The demo accounts of `seed_demo` (README), and the password every generated user shares
# (demo.demo_data).
STAFF = ("staff@brisk.local", "brisk-staff-demo")
STUDENT = ("student@brisk.local", "brisk-student-demo")
INSTRUCTOR = ("instructor@brisk.local", "brisk-instructor-demo")
LEARNER_PASSWORD = "brisk-learner-demo"

# A connection idle this long is closed by the client, as the proxy in front of Gunicorn
# does (gunicorn_config.py: the proxy's idle timeout, 60 s, is below Gunicorn's keepalive,
# 75 s). A client that kept it longer would race Gunicorn closing it: the first soak run
# lost 3 requests of 53,149 that way ("Remote end closed connection without response").
PROXY_IDLE_TIMEOUT = 60.0


@dataclass
class Answer:
    """One request as the client saw it: `status` 0 means no HTTP answer at all (`error`
    says why)."""

    method: str
    path: str
    status: int
    seconds: float
    body: bytes = b""
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    started: float = 0.0  # time.monotonic() when it was sent

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive connection to host:port, reopened after any failure or after
    PROXY_IDLE_TIMEOUT idle. Sends JSON bodies, and the token as a Bearer. Not
    thread-safe: one per thread.

    `tls`: speak HTTPS with this context (nginx in the topology). `source`: the local
    address to connect from (another 127.x.y.z: a different client address for the
    server). `headers`: sent with every request."""

    def __init__(
        self,
        port: int,
        *,
        timeout: float = 15.0,
        token: str | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        source: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.token = token
        self.tls = tls
        self.source = source
        self.headers = dict(headers or {})
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def _connect(self) -> http.client.HTTPConnection:
        source = (self.source, 0) if self.source else None
        if self.tls is not None:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.tls, source_address=source
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout, source_address=source)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None, *, headers: Mapping[str, str] | None = None) -> Answer:
        """`body`: bytes as they are, anything else as JSON. `headers` override ours."""
        sent = {"Accept": "application/json", **self.headers}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload: bytes | None = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        start = time.monotonic()
        if self._conn is not None and start - self._last_used > PROXY_IDLE_TIMEOUT:
            self.close()
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.request(method, path, body=payload, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
            answer = Answer(
                method, path, response.status, time.monotonic() - start, data, headers=dict(response.getheaders())
            )
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(method, path, 0, time.monotonic() - start, error=repr(error), started=start)
        self._last_used = time.monotonic()
        answer.started = start
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)


def http_request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float = 30.0,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """One request to `url` (http[s]://host:port/path?query) on a connection of its own;
    `tls`: the context of an https URL (a self-signed certificate's)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    if parts.scheme == "https" and tls is None:
        tls = ssl.create_default_context()
    default_port = 443 if parts.scheme == "https" else 80
    with Client(parts.port or default_port, timeout=timeout, host=parts.hostname or "127.0.0.1", tls=tls) as client:
        return client.request(method, path, body, headers=headers)


def get_once(port: int, path: str, **kwargs: Any) -> Answer:
    """One GET to 127.0.0.1:port on a connection of its own, closed afterwards."""
    with Client(port, **kwargs) as client:
        return client.get(path)


def login(port: int, email: str, password: str) -> str:
    """An access token (AssertionError unless the login answers 200)."""
    with Client(port) as client:
        answer = client.request("POST", "/auth/token/", {"email": email, "password": password})
    assert answer.status == 200, (answer.status, answer.body)
    return str(answer.json()["access"])


def published_ids(port: int, path: str) -> list[int]:
    """Ids on the first page (up to 100) of a public list."""
    with Client(port) as client:
        answer = client.get(f"{path}?page_size=100")
    assert answer.status == 200, (answer.status, answer.body[:300])
    return [row["id"] for row in answer.json()["results"]]
