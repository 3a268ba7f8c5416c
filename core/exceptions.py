"""Every error the API returns is JSON, and failures of the database are a 503, not a 500.

`exception_handler` is the one place where the services' errors (core.errors) become HTTP
answers."""

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

logger = logging.getLogger(__name__)


def as_api_exception(exc: Exception) -> Exception:
    """A service's error (core.errors) as the DRF exception with its status and body:
    Django's ValidationError keeps its fields (`{"slug": ["..."]}`), one without a field is
    `{"detail": "..."}`; NotFound, Conflict and the rest keep their message."""
    if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    if isinstance(exc, DjangoValidationError | DomainError):
        message = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
        error = exceptions.APIException(message)
        error.status_code = exc.status_code if isinstance(exc, DomainError) else status.HTTP_400_BAD_REQUEST
        return error
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler for the services' errors too, plus: a database that is down or too
    slow answers 503 JSON."""
    response = drf_exception_handler(as_api_exception(exc), context)
    if response is not None:
        return response
    if isinstance(exc, OperationalError):
        # Connection refused, statement_timeout, server restarting: not the caller's fault,
        # and retrying later may succeed.
        logger.warning("database unavailable: %s", exc)
        return Response(
            {"detail": "The database is unavailable or too slow; try again shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    return None


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
