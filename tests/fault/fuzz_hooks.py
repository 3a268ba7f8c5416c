"""Schemathesis hooks for tests/fault/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

An `Idempotency-Key` replays the first answer given to it, on purpose (core.idempotency):
the same small keys that the fuzzer draws again and again ("0", "A") would replay a
`201` for a programme that a later case deleted, and its stateful checks would then read
"created resource not found". A valid key is made unique per drawn case, so every case
does what it says; replays themselves are covered by tests/core/test_idempotency.py. A
key that breaks the schema (the negative cases) is sent as drawn. A case sent again with
another path or body (the coverage phase varies one drawn case) reuses its key: the 422
that the schema declares for it is history, not shape, and is let through below.

Schema-valid requests must be accepted (positive_data_acceptance), except for the rules
that need the database and that no schema can state: an id in range that names no row,
a slug or e-mail already taken, a password too common or too like the e-mail, a capacity
below the seats already held, an opaque value only the server can read (a cursor, a reset
or verification token), the caller's current password, a list ordered by a computed figure
(page numbers only); nor can it state that a key was already used (422). A 400 whose every message is one
of those is not a failure, nor such a 422; any other message still is
(tests/core/test_schema.py checks the declarations one by one).

A text that fits its maxLength only once DRF has trimmed its ends is accepted, by design
of DRF's CharField; that one negative-data failure is dropped too (`trimmed_to_fit`).

A URL longer than Gunicorn's request line limit (limit_request_line, 4094 bytes) is
answered by Gunicorn itself, 414 in HTML, before Django sees it: not the application's
answer (a proxy in front would give its own), so that one failure is dropped, and only it.
"""

import json
import re
import uuid
from typing import Any

import schemathesis

VALID_KEY = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
# The rules that need the database (see above), as the API words them.
UNSTATEABLE = re.compile(
    r"Invalid pk .* object does not exist"
    r"|already exists"
    r"|is not an instructor"
    r"|[Uu]nknown (programme|user) id"
    r"|seats already held"
    r"|password is too (common|similar)"
    r"|Idempotency-Key was already used"
    # Opaque values only the server can read: a cursor, a reset or verification link.
    r"|Invalid cursor: use the `next` URL"
    r"|link is invalid or has expired"
    r"|not your current password"
    # A list ordered by a computed figure (a rating) takes page numbers only.
    r"|cannot be paged by cursor"
)


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if not headers:
        return headers
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    return headers


def messages(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body]
    if isinstance(body, list):
        return [message for item in body for message in messages(item)]
    if isinstance(body, dict):
        return [message for item in body.values() for message in messages(item)]
    return [repr(body)]


def needs_the_database(failure: Any, response: Any) -> bool:
    """A schema-valid request refused only for rules that need the database."""
    if getattr(failure, "code", "") != "ST202" or response.status_code not in (400, 422):
        return False
    try:
        found = messages(json.loads(response.content))
    except ValueError:
        return False
    return bool(found) and all(UNSTATEABLE.search(message) for message in found)


def trimmed_to_fit(failure: Any, case: Any) -> bool:
    """A text longer than its maxLength only by whitespace at its ends: DRF trims a text
    before it counts it (found by the fuzzer: a title of "\\v\\n" and 200 characters was
    stored as those 200). No schema keyword says "after trimming"."""
    if getattr(failure, "code", "") != "ST201" or "maxLength" not in str(getattr(failure, "message", "")):
        return False
    body = case.body if isinstance(case.body, dict) else {}
    return any(isinstance(value, str) and value != value.strip() for value in body.values())


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but Gunicorn's own "URI Too Long" and the refusals that need the
    database."""
    if response.status_code == 414 and b"Request Line is too large" in response.content:
        return False
    return not (needs_the_database(failure, response) or trimmed_to_fit(failure, case))
