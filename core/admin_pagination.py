"""A paginator for admin changelists over big tables: no COUNT(*) over millions of rows.

Django's admin counts the whole changelist to draw its page links. At two million
enrollments that count is a sequential scan of the table on every page view. On
PostgreSQL this paginator counts exactly only while the answer is small, and otherwise
takes the planner's own figure:

- unfiltered: `pg_class.reltuples`, kept current by ANALYZE and autovacuum;
- filtered or searched: a count bounded at `exact_limit + 1` rows, and past that the
  planner's row estimate for the query (EXPLAIN, which runs nothing).

A table that was never analysed has `reltuples` -1 (0 before PostgreSQL 14), and a small
one has a small figure: both go to the bounded count, so the number is exact whenever it
is small and never below what the bounded count saw. Other databases (SQLite for local
use) count exactly, as Django does.

Use it with `show_full_result_count = False`, which drops the admin's second, unfiltered
count.

It also links only pages it can serve: the rows before a page are read and skipped
(OFFSET), so page 40,000 of two million enrollments read two million rows and met
`statement_timeout`. Pages stop after `max_rows_linked` rows (200 pages of 50): past them
the admin neither links nor serves a page (asking for one is its "invalid page" notice),
and the rows further on are reached by a filter, a search, or sorting the other way.
"""

import json
import math
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet


class EstimatedCountPaginator(Paginator):
    # Counting up to this many rows costs a few milliseconds whatever the table's size.
    exact_limit = 10_000
    # The deepest row a page may reach: skipping this many (filtered, joined) rows stays
    # well under the 300 ms a changelist page may take (bench/ADMIN.md, "last page").
    max_rows_linked = 10_000

    def page(self, number: Any) -> Page:
        """Django's page, but past the first one the rows are picked by id: `pk IN (SELECT id
        ... ORDER BY <ordering> LIMIT n OFFSET m)`. The OFFSET then walks the ordering's
        index alone, not the joins of `list_select_related` for every row it skips."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        if bottom and isinstance(rows, QuerySet):
            return Page(rows.filter(pk__in=rows.values("pk")[bottom:top]), number, self)
        return Page(rows[bottom:top], number, self)

    @property
    def num_pages(self) -> int:
        """Django's figure, capped at the page holding row `max_rows_linked`."""
        pages = super().num_pages
        return min(pages, max(1, math.ceil(self.max_rows_linked / self.per_page)))

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not queryset.query.where:
            estimate = self._table_estimate(queryset)
            if estimate > self.exact_limit:
                return estimate
        bounded = queryset.order_by().values("pk")[: self.exact_limit + 1].count()
        if bounded <= self.exact_limit:
            return bounded
        return max(bounded, self._plan_estimate(queryset))

    @staticmethod
    def _table_estimate(queryset: QuerySet[Any]) -> int:
        """The planner's row count for the whole table: -1 or 0 when never analysed."""
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        return int(row[0]) if row else -1

    @staticmethod
    def _plan_estimate(queryset: QuerySet[Any]) -> int:
        """The planner's estimate of the rows `queryset` returns (EXPLAIN runs nothing)."""
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        if isinstance(plan, list):  # EXPLAIN's own shape; Django hands over its one item
            plan = plan[0]
        return int(plan["Plan"]["Plan Rows"])
