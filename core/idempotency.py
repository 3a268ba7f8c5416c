"""`Idempotency-Key` on POST writes: the same key and body replays the first answer.

Decorate a view handler with `@idempotent`. Without the header it costs nothing. With it,
the handler runs in one transaction together with an `IdempotencyKey` row:

1. `INSERT ... ON CONFLICT DO NOTHING` claims the key. On PostgreSQL a concurrent
   duplicate blocks on the unique index until the first request's transaction ends.
2. The row is read back. A row with an answer was committed by an earlier request: its
   fingerprint must match (else 422) and its answer is replayed, with no second effect.
   A row without one is ours (rows are only ever committed with their answer).
3. The handler runs. A 2xx answer is stored in the row and both commit together; any
   other answer or an exception rolls everything back, so the key stays free for a retry
   of a request that had no effect.

Storage is the database, not the cache: a Redis restart must not let a retried payment-like
write run twice. Rows are kept at least IDEMPOTENCY_KEY_TTL_HOURS (default 24); the
`purge_idempotency_keys` command deletes older ones.
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

import orjson
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# For the schema of each decorated operation.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    # What _key_from accepts: printable ASCII, no blank at either end (HTTP strips it).
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
    },
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer to the same request (same key and body); another body: 422.",
)

Handler = TypeVar("Handler", bound=Callable[..., Response])


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with another request (method, path or body)."
    default_code = "idempotency_key_reused"


def _key_from(request: Request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError(
            {HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID is a good choice)."]}
        )
    return key


def request_fingerprint(request: Request) -> str:
    """sha256 over the method, the path and the parsed body in a canonical form, so that
    spacing or key order in the JSON does not make one request look like another."""
    body = orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS, default=str)
    digest = hashlib.sha256()
    for part in (str(request.method).encode(), request.get_full_path().encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _claim(*, key: str, user_id: int | None, fingerprint: str) -> IdempotencyKey:
    IdempotencyKey.objects.bulk_create(
        [IdempotencyKey(key=key, user_id=user_id, fingerprint=fingerprint)], ignore_conflicts=True
    )
    if user_id is None:
        return IdempotencyKey.objects.get(key=key, user__isnull=True)
    return IdempotencyKey.objects.get(key=key, user_id=user_id)


def _as_json(data: Any) -> Any:
    """The answer as the client saw it: through orjson and back, so a replay renders the same."""
    if data is None:
        return None
    return orjson.loads(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS))


def idempotent(handler: Handler) -> Handler:
    """Make a POST handler (`def post(self, request, ...)` or a viewset action) honour
    `Idempotency-Key`. Authentication, permissions and throttles have run already, so the
    key is scoped to `request.user`."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key_from(request) if request.method == "POST" else None
        if key is None:
            return handler(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        user_id = request.user.pk if request.user.is_authenticated else None
        with transaction.atomic():
            record = _claim(key=key, user_id=user_id, fingerprint=fingerprint)
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused
            if record.status_code is not None:
                return Response(
                    record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
                )
            response = handler(view, request, *args, **kwargs)
            if status.is_success(response.status_code):
                IdempotencyKey.objects.filter(pk=record.pk).update(
                    status_code=response.status_code, response_body=_as_json(response.data)
                )
            else:
                # Nothing happened: forget the key with everything else.
                transaction.set_rollback(True)
            return response

    return cast(Handler, wrapper)
