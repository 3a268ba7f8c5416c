"""Reads to the replica (`DATABASE_REPLICA_URL`), except where they must see the primary.

A caller reads from the primary:
- during any request whose method is not safe (POST, PUT, PATCH, DELETE): a write's own
  reads and checks happen where it writes;
- inside a transaction on the primary (`transaction.atomic()`), for the same reason;
- for the rest of a request once it has written;
- for settings.REPLICA_PIN_SECONDS after its last write, so that the list it reloads
  right after creating something shows it despite replication lag. The caller is known
  by its bearer token and by its client address, kept in the cache (API clients do not
  keep cookies); both are checked, so a registration followed by a first authenticated
  read stays on the primary.

Everything else (anonymous catalogue reads, the bulk of the traffic) goes to the replica.
"""

import hashlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Per request (and per thread): reads go to the primary.
pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
# Per request: something was written, so pin the caller for a while.
wrote: ContextVar[bool] = ContextVar("wrote_to_primary", default=False)


class PrimaryReplicaRouter:
    """Writes and migrations to the primary; reads to the replica unless pinned."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        if pinned.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        pinned.set(True)
        wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY


def caller_keys(request: HttpRequest) -> list[str]:
    """Cache keys that stand for the caller: its credentials and its client address."""
    keys = []
    if credentials := request.headers.get("Authorization"):
        keys.append("pin:auth:" + hashlib.sha256(credentials.encode()).hexdigest())
    # Behind a proxy REMOTE_ADDR is the proxy's; the first forwarded address is the
    # caller's. A forged one can only move its sender's own reads to the primary.
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    keys.append("pin:addr:" + (forwarded or request.META.get("REMOTE_ADDR", "")))
    return keys


class ReplicaPinMiddleware:
    """Sets the pin for the request and remembers the caller's writes. Off (and free)
    without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        keys = caller_keys(request)
        pin = request.method not in SAFE_METHODS or self._recently_wrote(keys)
        pin_token = pinned.set(pin)
        wrote_token = wrote.set(False)
        try:
            response = self.get_response(request)
            if wrote.get():
                self._remember_write(keys)
        finally:
            pinned.reset(pin_token)
            wrote.reset(wrote_token)
        return response

    def _recently_wrote(self, keys: list[str]) -> bool:
        try:
            return bool(cache.get_many(keys))
        except Exception:  # the cache is down: the primary is always right
            logger.warning("replica pin: cache unavailable, reading from the primary", exc_info=True)
            return True

    def _remember_write(self, keys: list[str]) -> None:
        try:
            cache.set_many(dict.fromkeys(keys, 1), timeout=settings.REPLICA_PIN_SECONDS)
        except Exception:
            logger.warning("replica pin: cache unavailable, pin not stored", exc_info=True)
