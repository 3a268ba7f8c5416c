"""Throttles for login and registration: one bucket per client IP, one per e-mail.

Both read the view's `throttle_scope` and its rate from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES (env THROTTLE_AUTH_TOKEN / THROTTLE_AUTH_REGISTER, "10/minute" by
default), counted in Django's default cache.

Client IP: DRF's `get_ident` with NUM_PROXIES. With 0 (the default, no proxy) it is
REMOTE_ADDR and X-Forwarded-For is ignored; behind N trusted proxies that each append to
X-Forwarded-For it is the N-th address from the right, the one our first proxy saw, so a
client cannot pick its bucket by sending its own X-Forwarded-For.

Cache down: the default cache ignores Redis errors (settings: IGNORE_EXCEPTIONS), so the
history reads as empty and requests are allowed (fail open): a Redis outage must not lock
every user out, and password hashing still bounds guessing per worker.
"""

import hashlib
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class _ScopedAuthThrottle(ScopedRateThrottle):
    bucket = ""

    def get_rate(self) -> str | None:
        # Read at each request (DRF caches the rates at import), so settings changes apply.
        try:
            return cast(str | None, api_settings.DEFAULT_THROTTLE_RATES[str(self.scope)])
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": f"{self.scope}:{self.bucket}", "ident": ident}


class ClientIPRateThrottle(_ScopedAuthThrottle):
    """`throttle_scope`'s rate per client IP (see the module docstring for NUM_PROXIES)."""

    bucket = "ip"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.key_for(self.get_ident(request))


class EmailRateThrottle(_ScopedAuthThrottle):
    """`throttle_scope`'s rate per e-mail in the body, whatever its case or the client IP."""

    bucket = "email"
    field = "email"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data
        email = data.get(self.field) if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None  # the view answers 400 for a missing e-mail
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.key_for(digest)


class ResetUidRateThrottle(EmailRateThrottle):
    """Per account for a password reset confirmation: the `uid` of the link names it."""

    bucket = "uid"
    field = "uid"


class UserRateThrottle(_ScopedAuthThrottle):
    """`throttle_scope`'s rate per signed-in user (password change, verification resend)."""

    bucket = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.key_for(str(request.user.pk))
