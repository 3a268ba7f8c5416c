"""Deep pages of API lists: page numbers stop at a bounded depth, `?cursor=` goes further.

A page number is served by skipping the rows before it (OFFSET), and skipping costs what
reading costs: the staff enrollments list's page 200,000 read two million rows. So a
page-number request whose rows lie past the first `MAX_PAGE_ROWS` results is a 400 naming
the cursor, before the list is counted or read (a count stopped at `MAX_PAGE_ROWS + 1`
tells it from a page past the end of a shorter list, which stays a 404).

`?cursor=` (DRF's CursorPagination is the model) pages by the list's own ordering instead:
the cursor holds the ordering's values on the last row served, and the next page is the
rows after them, `WHERE (a, b) > (x, y)` written out column by column with the first
column's bound repeated (`a >= x AND (a > x OR (a = x AND b > y))`), which an index on the
ordering turns into a range scan: every page costs what the first does. An empty cursor
starts at the first result; `next` is the following page's URL, null on the last one.
Cursor pages go forward only and carry no `count`.

The ordering must be plain columns of the model that cannot be NULL (the id tie-breaker is
added when missing); a list ordered by a computed figure answers `?cursor=` with a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Model, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

# The deepest result a page number reaches. At the large demo scale, skipping this many
# rows costs a few milliseconds on every list (bench/ADMIN.md, "API deepest pages").
MAX_PAGE_ROWS = 10_000

CURSOR_QUERY_PARAM = "cursor"


def _cursor_error(message: str) -> ValidationError:
    return ValidationError({CURSOR_QUERY_PARAM: [message]})


class Keyset:
    """The ordering of `queryset` as (field, descending) pairs, ending with the primary key."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        model = queryset.model
        query = queryset.query
        names = list(query.order_by) if query.order_by else list(query.get_meta().ordering or [])
        self.columns: list[tuple[Field[Any, Any], bool]] = []
        for name in names:
            if not isinstance(name, str):
                raise _cursor_error("This list's ordering cannot be paged by cursor; use page numbers.")
            descending = name.startswith("-")
            field = self._field(model, name.lstrip("-"))
            self.columns.append((field, descending))
        if not any(field.primary_key for field, _ in self.columns):
            self.columns.append((model._meta.pk, False))  # type: ignore[arg-type]  # every model has one

    @staticmethod
    def _field(model: type[Model], name: str) -> Field[Any, Any]:
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if not isinstance(field, Field) or not field.concrete or field.null or field.is_relation:
            raise _cursor_error(f"This list ordered by '{name}' cannot be paged by cursor; use page numbers.")
        return field

    @property
    def names(self) -> list[str]:
        return [("-" if descending else "") + field.name for field, descending in self.columns]

    def encode(self, row: Model) -> str:
        values = [field.value_to_string(row) for field, _ in self.columns]
        raw = json.dumps({"o": self.names, "v": values}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            ordering, values = data["o"], data["v"]
            if ordering != self.names or not isinstance(values, list) or len(values) != len(self.columns):
                raise ValueError
            if any(not isinstance(value, str) or "\x00" in value for value in values):
                raise ValueError
            # clean(): the field's own validators too (a price of 1e50 never reaches SQL).
            return [field.clean(value, None) for (field, _), value in zip(self.columns, values, strict=True)]
        except (ValueError, TypeError, KeyError, binascii.Error, DjangoValidationError):
            raise _cursor_error(
                "Invalid cursor: use the `next` URL of a cursor page as it is (it belongs to the list's ordering)."
            ) from None

    def after(self, values: list[Any]) -> Q:
        """The rows strictly after `values` in this ordering."""
        (first, first_desc), first_value = self.columns[0], values[0]
        condition = Q()
        for index, ((field, descending), value) in enumerate(zip(self.columns, values, strict=True)):
            step = Q(**{f"{field.name}__{'lt' if descending else 'gt'}": value})
            for earlier, earlier_value in zip(self.columns[:index], values[:index], strict=True):
                step &= Q(**{earlier[0].name: earlier_value})
            condition |= step
        # The first column's bound again, on its own: an index range to start from.
        return Q(**{f"{first.name}__{'lte' if first_desc else 'gte'}": first_value}) & condition


class CursorPaginationMixin:
    """`?cursor=` on top of a page-number paginator, and the depth bound on page numbers.

    For `core.pagination.PageNumberPagination`, which keeps its whole contract otherwise."""

    page_query_param: str
    cursor_query_param = CURSOR_QUERY_PARAM
    max_page_rows = MAX_PAGE_ROWS
    _cursor_next: str | None = None
    _cursor_mode = False

    def get_page_size(self, request: Request) -> int:
        raise NotImplementedError

    def check_depth(self, request: Request, queryset: Any, page: int | None) -> None:
        """A page whose rows lie past the first `max_page_rows` results is a 400, unless the
        whole list is shorter than that (then it is past the last page: the usual 404).
        Which one costs a count stopped at `max_page_rows + 1`, the same for any table."""
        if page is None:
            return
        size = self.get_page_size(request)
        if page * size <= self.max_page_rows:
            return
        if isinstance(queryset, QuerySet):
            if queryset.order_by().values("pk")[: self.max_page_rows + 1].count() <= self.max_page_rows:
                return
        elif len(queryset) <= self.max_page_rows:
            return
        raise ValidationError(
            {
                self.page_query_param: [
                    f"Page {page} of {size} lies past the first {self.max_page_rows:,} results, the deepest "
                    f"a page number reaches. Page further with `?{self.cursor_query_param}=` "
                    "(empty to start at the first result, then follow `next`), or narrow the list "
                    "with its filters."
                ]
            }
        )

    def paginate_by_cursor(self, queryset: Any, request: Request) -> list[Any]:
        from core.pagination import DeferredPage

        # With a cursor, `page` is ignored (and dropped from the `next` link): a client that
        # kept it from its page-number URLs gets the cursor page it asked for.
        if not isinstance(queryset, QuerySet):
            raise _cursor_error("This list cannot be paged by cursor; use page numbers.")
        self._cursor_mode = True
        size = self.get_page_size(request)
        keyset = Keyset(queryset)
        token = request.query_params.get(self.cursor_query_param, "")
        rows = queryset.order_by(*keyset.names)
        if token:
            rows = rows.filter(keyset.after(keyset.decode(token)))
        page = list(DeferredPage(rows)[: size + 1])
        url = remove_query_param(request.build_absolute_uri(), self.page_query_param)
        if len(page) > size:
            page = page[:size]
            self._cursor_next = replace_query_param(url, self.cursor_query_param, keyset.encode(page[-1]))
        return page

    def get_cursor_response(self, data: Any) -> Response:
        return Response({"next": self._cursor_next, "results": data})

    def cursor_schema_parameter(self) -> dict[str, Any]:
        return {
            "name": self.cursor_query_param,
            "required": False,
            "in": "query",
            "description": (
                f"Instead of `{self.page_query_param}`, for pages past the first {self.max_page_rows:,} results: "
                "empty for the first page, then the `next` URL of each page. A cursor page has `next` and "
                "`results` only; a list ordered by a computed figure answers 400. With a cursor, `"
                f"{self.page_query_param}` is ignored."
            ),
            "schema": {"type": "string"},
        }
