"""The hook every write service calls after a commit that changed the public catalogue.

`core.catalogue_cache` already sees each write at the SQL level, so this is a no-op for
now; it is the one named place where a later cache (a CDN purge, a search index) learns
that a family changed, without touching the services again.
"""

import functools

from django.db import transaction

# Families as core.catalogue_cache names them.
PROGRAMMES = "programmes"
COURSES = "courses"
REVIEWS = "reviews"
USERS = "users"


def catalogue_changed(family: str) -> None:
    """Called once per family after the transaction that changed it has committed."""


def catalogue_changed_on_commit(*families: str) -> None:
    """Call `catalogue_changed(family)` for each family once the current transaction commits
    (at once outside a transaction; never when it rolls back)."""
    for family in families:
        transaction.on_commit(functools.partial(catalogue_changed, family))
