"""E-mail that a request causes, sent after its transaction commits, off the request's path.

Why a thread and not SMTP inside the request: a password reset request must take the same
time whether or not the address has an account, and an SMTP round trip (or a slow mail
server) would tell them apart and hold a Gunicorn thread for as long as the server dawdles.
So each web process keeps one mail thread: `send_after_commit` hands it the message once
the transaction commits and returns at once; each send is bounded by EMAIL_TIMEOUT
(10 s) well inside the chain; at most EMAIL_QUEUE_MAX messages wait (more are dropped and
logged, so a dead mail server cannot grow the queue without end). A message waiting when
the process is killed is lost; its user can ask again. With EMAIL_SEND_IN_BACKGROUND=false
(tests) the message is sent at commit, in the request.

A queue of its own (Celery, RQ) would survive restarts, at the price of another service to
run; the lifecycle mails are all re-requestable, so a thread is enough.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

logger = logging.getLogger("brisk.mail")

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending = 0


def _mail_thread() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:  # made in the worker, after Gunicorn's fork
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")
        return _executor


def send_now(message: EmailMessage, *, kind: str) -> bool:
    """Send one message with EMAIL_TIMEOUT; a failure is logged, never raised."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.dummy.EmailBackend":
        logger.warning("e-mail not sent: EMAIL_URL is not set", extra={"mail": kind})
        return False
    try:
        message.connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
        message.send()
    except Exception:
        logger.exception("e-mail not sent", extra={"mail": kind})
        return False
    return True


def _send_queued(message: EmailMessage, kind: str, deliver: bool) -> None:
    global _pending
    try:
        if deliver:
            send_now(message, kind=kind)
    finally:
        with _executor_lock:
            _pending -= 1


def _hand_over(message: EmailMessage, kind: str, deliver: bool) -> None:
    global _pending
    if not settings.EMAIL_SEND_IN_BACKGROUND:
        if deliver:
            send_now(message, kind=kind)
        return
    with _executor_lock:
        if _pending >= settings.EMAIL_QUEUE_MAX:
            logger.error("e-mail dropped: %d messages already waiting", _pending, extra={"mail": kind})
            return
        _pending += 1
    _mail_thread().submit(_send_queued, message, kind, deliver)


def send_after_commit(message: EmailMessage, *, kind: str, deliver: bool = True) -> None:
    """Send `message` once the current transaction commits (at once outside one; never if
    it rolls back), without waiting for the mail server. `kind` names it in the logs.

    `deliver=False` does all the same but the sending, in the mail thread: for a request
    that must take the same time whether or not it has anyone to write to."""
    transaction.on_commit(lambda: _hand_over(message, kind, deliver))
