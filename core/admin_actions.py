"""Admin actions on selections of any size: finished in bounded batches, or refused up front.

"Select all 2,000,000" hands an action the whole changelist. An action does what a page
request can finish within the timeout chain (Gunicorn's 30 s, statement_timeout's 10 s),
in short batches (core.batches), and refuses a bigger selection before touching a row,
with an admin message naming the limit and the management command that does the same
work offline.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected
from django.db.models import QuerySet
from django.http import HttpRequest

# The most rows one action handles inside a page request: cancelling 10,000 enrollments in
# batches of 1,000 took 4.4 s on a loaded 2-core machine (bench/ADMIN.md, "Actions").
ACTION_ROW_LIMIT = 10_000
ACTION_BATCH_SIZE = 1_000


def selection_within(request: HttpRequest, queryset: QuerySet[Any], limit: int) -> bool:
    """Whether the action's selection holds at most `limit` rows.

    Ticked rows are counted from the request (no query); "select all" (`select_across`)
    by a count that stops at `limit + 1`, which costs the same for any table."""
    if request.POST.get("select_across") != "1":
        return len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)) <= limit
    return queryset.order_by().values("pk")[: limit + 1].count() <= limit


def refuse(model_admin: admin.ModelAdmin[Any], request: HttpRequest, what: str, limit: int, command: str) -> None:
    model_admin.message_user(
        request,
        f"{what} is limited to {limit:,} rows at a time here, and this selection holds more. "
        f"Narrow it with the filters or a search, or run `python manage.py {command}` on a server.",
        messages.ERROR,
    )


# Django's own "Delete selected" lists every row it would delete, with the rows that
# depend on it, on its confirmation page: for "select all" of two million enrollments
# that page is never drawn. It keeps working for what a page can show.
DELETE_ROW_LIMIT = 1_000


@admin.action(permissions=["delete"], description=delete_selected.short_description)  # type: ignore[attr-defined]
def bounded_delete_selected(model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    """Django's delete_selected, refused up front past DELETE_ROW_LIMIT rows."""
    if not selection_within(request, queryset, DELETE_ROW_LIMIT):
        model_admin.message_user(
            request,
            f"Deleting is limited to {DELETE_ROW_LIMIT:,} rows at a time here, and this selection holds more. "
            "Narrow it with the filters or a search, or delete in batches from `python manage.py shell` "
            "on a server (core.batches walks any selection in short transactions).",
            messages.ERROR,
        )
        return None
    return delete_selected(model_admin, request, queryset)


def install_bounded_delete(site: admin.AdminSite) -> None:
    """Replace the site's "Delete selected" with the bounded one (core.admin does it)."""
    site.disable_action("delete_selected")
    site.add_action(bounded_delete_selected, "delete_selected")
