"""When django-debug-toolbar shows itself (local settings only, config/settings/local.py).

It opens collapsed (a small "DJDT" handle at the right edge), so it never covers a page,
and it stays off the admin's pages, where its handle sat on the filters and the "Add" and
"Log out" buttons, unless DEBUG_TOOLBAR_ON_ADMIN=true asks for it there.
"""

from django.conf import settings
from django.http import HttpRequest

ADMIN_PREFIX = "/admin/"


def show_toolbar(request: HttpRequest) -> bool:
    from debug_toolbar.middleware import show_toolbar as default_show_toolbar

    if not default_show_toolbar(request):  # DEBUG and a request from INTERNAL_IPS
        return False
    return getattr(settings, "DEBUG_TOOLBAR_ON_ADMIN", False) or not request.path.startswith(ADMIN_PREFIX)
