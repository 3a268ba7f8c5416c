"""Schemathesis hooks for tests/fault/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

An `Idempotency-Key` replays the first answer given to it, on purpose (core.idempotency):
the same small keys that the fuzzer draws again and again ("0", "A") would replay a
`201` for a programme that a later case deleted, and its stateful checks would then read
"created resource not found". A valid key is made unique per request, so every case does
what it says; replays themselves are covered by tests/core/test_idempotency.py. A key
that breaks the schema (the negative cases) is sent as drawn.

A URL longer than Gunicorn's request line limit (limit_request_line, 4094 bytes) is
answered by Gunicorn itself, 414 in HTML, before Django sees it: not the application's
answer (a proxy in front would give its own), so that one failure is dropped, and only it.
"""

import re
import uuid
from typing import Any

import schemathesis

VALID_KEY = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if not headers:
        return headers
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    return headers


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but Gunicorn's own "URI Too Long"."""
    return not (response.status_code == 414 and b"Request Line is too large" in response.content)
