"""The admin's door: django-axes, for /admin/ only.

Five failed logins (ADMIN_LOGIN_FAILURE_LIMIT) from one client IP, or for one account
whatever the IP, lock that IP or that account out of /admin/ for ADMIN_LOCKOUT_MINUTES
(15): the login form is then answered 429 with a message saying so, even with the right
password, and the lockout is logged (`admin_lockout`, accounts.auth_events). Attempts live
in PostgreSQL (axes' AccessAttempt), so every instance counts the same ones. Staff unlock
from the admin (Axes > Access attempts: delete the rows) or with `manage.py
axes_reset_username <email>` / `axes_reset_ip <ip>` / `axes_reset`.

The API's own logins are left to its throttles (accounts.throttling): `AXES_ONLY_ADMIN_SITE`
keeps axes from refusing them, and `AdminLoginHandler` keeps it from recording them, so an
API login still writes nothing and costs no extra query.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler

from core.client_ip import client_ip as _client_ip


def _is_admin(handler: AxesDatabaseHandler, request: Any) -> bool:
    return request is not None and handler.is_admin_request(request)


class AdminLoginHandler(AxesDatabaseHandler):
    """axes' database handler, deaf to logins outside /admin/."""

    def user_login_failed(self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
        if _is_admin(self, request):
            super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if _is_admin(self, request):
            super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if _is_admin(self, request):
            super().user_logged_out(sender, request, user, **kwargs)


def login_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt was for, as login matches it (any case, spaces around): so
    `Staff@X` and `staff@x ` count against one account."""
    source = credentials if credentials is not None else getattr(request, "POST", {})
    value = source.get("username") or source.get("email")
    return value.strip().lower() if isinstance(value, str) else None


def client_ip(request: Any) -> str:
    """The same client IP as the API's throttles (NUM_PROXIES; core.client_ip)."""
    return _client_ip(request)
