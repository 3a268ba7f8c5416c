"""The client's IP address, the same way for the API's throttles and the admin's lockout."""

from typing import Any

from rest_framework.throttling import BaseThrottle


def client_ip(request: Any) -> str:
    """REMOTE_ADDR, or with NUM_PROXIES = N the N-th address from the right of
    X-Forwarded-For (DRF's `get_ident`, which the API's throttles use), so a client cannot
    pick its own bucket by sending the header."""
    return str(BaseThrottle().get_ident(request))
