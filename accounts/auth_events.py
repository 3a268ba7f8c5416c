"""One structured log line per authentication event, on the `brisk.auth` logger.

Events: `login`, `login_failed`, `logout`, `token_refreshed`, `token_refresh_refused`,
`password_changed`, `password_reset_requested`, `password_reset_done`,
`password_reset_refused`, `email_verification_sent`, `email_verified`, `tokens_revoked`,
`admin_lockout`. Each line names the event, the channel (`api` or `admin`), the client IP,
the user id when known and, for an address typed by the client, a short SHA-256 of it
(`email_sha` — enough to find every line about one address, without writing the address
itself); the request id comes with every line (core.logging). Never a password, a token
or a reset link.

In plain format the fields are in the message (`auth login_failed channel=api ...`); in
JSON (production) they are also fields of their own.
"""

import hashlib
import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed

from core.client_ip import client_ip

logger = logging.getLogger("brisk.auth")


def email_digest(email: object) -> str | None:
    """The first 16 hex digits of the SHA-256 of the address as the user would be found."""
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def channel_of(request: Any) -> str:
    path = str(getattr(request, "path", "") or "")
    return "admin" if path.startswith("/admin/") else "api"


def auth_event(
    event: str,
    *,
    request: Any = None,
    user_id: int | None = None,
    email: object = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log one authentication event (see the module docstring for the fields)."""
    data: dict[str, Any] = {"event": event}
    if request is not None:
        data["channel"] = channel_of(request)
        data["client_ip"] = client_ip(request)
    if user_id is not None:
        data["user_id"] = user_id
    digest = email_digest(email)
    if digest is not None:
        data["email_sha"] = digest
    data.update(fields)
    pairs = " ".join(f"{key}={value}" for key, value in data.items() if key != "event")
    logger.log(level, "auth %s %s", event, pairs, extra=data)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Django cleanses the password out of `credentials` before the signal.
    email = credentials.get("email", credentials.get("username"))
    auth_event("login_failed", request=request, email=email, level=logging.WARNING)


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Django's session login: the admin (API logins are logged by accounts.views.TokenView).
    auth_event("login", request=request, user_id=user.pk)


def _locked_out(
    sender: Any, request: Any, username: str | None = None, ip_address: str | None = None, **kw: Any
) -> None:
    auth_event("admin_lockout", request=request, email=username, level=logging.WARNING)


def connect() -> None:
    """Called once, from AccountsConfig.ready()."""
    from axes.signals import user_locked_out

    user_login_failed.connect(_login_failed, dispatch_uid="brisk.auth.login_failed")
    user_logged_in.connect(_logged_in, dispatch_uid="brisk.auth.logged_in")
    user_locked_out.connect(_locked_out, dispatch_uid="brisk.auth.locked_out")
