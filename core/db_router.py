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

Everything else (signed-in and private reads, the bulk of the SQL reads) goes to the replica.
(The catalogue cache computes the pages it will share on the primary: core.catalogue_cache.)

A replica that cannot be reached is skipped: the router connects to it before sending it a
read, and on failure reads go to the primary for settings.REPLICA_RETRY_SECONDS (this
process; then it tries again). A safe request whose replica connection broke under it (the
replica stopped mid-request) is run once more, on the primary, by ReplicaPinMiddleware. So
a replica going away costs reads at most the connect timeout, never an error.
"""

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Per request (and per thread): reads go to the primary.
pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
# Per request: something was written, so pin the caller for a while.
wrote: ContextVar[bool] = ContextVar("wrote_to_primary", default=False)


class _ReplicaHealth:
    """Per process: after the replica failed, reads skip it for REPLICA_RETRY_SECONDS."""

    def __init__(self) -> None:
        self._down_until = 0.0

    def up(self) -> bool:
        return time.monotonic() >= self._down_until

    def trip(self, exc: BaseException | None) -> None:
        if self.up():  # logged once per interval, not once per request
            logger.warning(
                "replica unavailable, reading from the primary for %ss: %s",
                settings.REPLICA_RETRY_SECONDS,
                exc if exc is not None else "connection broken",
            )
        self._down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS

    def reset(self) -> None:
        self._down_until = 0.0


replica_health = _ReplicaHealth()


def replica_reachable() -> bool:
    """Whether reads may go to the replica now: connected (or connecting succeeds), the
    connection alive (CONN_HEALTH_CHECKS, once per request), and no failure in the last
    REPLICA_RETRY_SECONDS. A refused connection fails at once; an unreachable host takes
    DB_CONNECT_TIMEOUT, once per interval and process."""
    if not replica_health.up():
        return False
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as exc:
        replica_health.trip(exc)
        with contextlib.suppress(DatabaseError):
            replica.close()
        return False
    return True


class PrimaryReplicaRouter:
    """Writes and migrations to the primary; reads to the replica unless pinned or down."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        if pinned.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA if replica_reachable() else PRIMARY

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
            if not pin and response.status_code >= 500 and self._replica_broke():
                # The replica went away during this read-only request: once more, on the
                # primary (a safe method may be repeated; nginx would do the same).
                pinned.set(True)
                response = self.get_response(request)
            if wrote.get():
                self._remember_write(keys)
        finally:
            pinned.reset(pin_token)
            wrote.reset(wrote_token)
        return response

    @staticmethod
    def _replica_broke() -> bool:
        """Whether the replica connection failed and is now unusable (a statement timeout
        leaves it usable: that is a slow query, not a missing replica)."""
        replica = connections[REPLICA]
        if not replica.errors_occurred:
            return False
        if replica.connection is not None and replica.is_usable():
            return False
        replica_health.trip(None)
        with contextlib.suppress(DatabaseError):
            replica.close()
        return True

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
