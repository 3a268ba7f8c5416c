"""The request id in every log line.

`RequestIDMiddleware` sets `request_id` for the duration of a request; `RequestIDFilter`
copies it onto every record, so a line logged anywhere below the middleware (Django's
`django.request` errors, a service's warning) can be joined to the access log line and to
the `X-Request-ID` the caller holds. A contextvar rather than a thread-local: it is right
for Gunicorn's threads and for async code alike.
"""

import logging
from contextvars import ContextVar

NO_REQUEST = "-"

request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


class RequestIDFilter(logging.Filter):
    """Adds `record.request_id` ("-" outside a request: start-up, management commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
