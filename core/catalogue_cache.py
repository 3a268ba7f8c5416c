"""The catalogue cache: rendered responses in Redis under versioned keys.

Reads. `CatalogueCacheMiddleware` answers anonymous GETs of the public catalogue
(programmes, courses, reviews) from the "catalogue" cache: a hit is one Redis round
trip (a Lua script reading the generations and the page they name), and no SQL. The key
holds the host, the path, the known query parameters sorted (unknown ones are dropped,
as the API ignores them) and the current generation of every family the page depends on. A caller with a valid access
token whose `staff` claim is false sees the public catalogue too and shares the entry
(marked private); staff and unclear tokens are computed per request.

Writes. Every INSERT/UPDATE/DELETE/TRUNCATE that Django sends to a catalogue table is
seen by a database execute-wrapper, which bumps that table's family generation at once
and again when the transaction commits. So a change made through
the API, the admin, a service, a bulk `update()` or a management command is visible on
the very next read, with no call to remember. Enrollments belong to the "seats" family,
which only the course detail reads: its `seats_left` and `enrollment_count` are exact on
the next read, while the counts lists show (`student_count`, `enrollment_count`) lag by at
most CATALOGUE_CACHE_TTL seconds.

Replica. With a read replica (core.db_router), a page that will be stored is computed on
the primary: it is shared by every anonymous reader for up to CATALOGUE_CACHE_TTL, and one
built from a replica a replication lag behind would keep that lag for its whole life,
under the generation of the write it missed. Hits, the bulk, run no SQL at all.

Failure. Redis errors never fail a request: the page is computed from the database and
the cache is skipped for CATALOGUE_CACHE_RETRY_SECONDS, logged once per interval.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.db import connections, transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict

from core.catalogue_routes import Route, routes_from_urls
from core.db_router import pinned

logger = logging.getLogger("brisk.cache")

CACHE_ALIAS = "catalogue"

# Which family each catalogue table belongs to. A write to any of them bumps its family.
TABLE_FAMILIES: dict[str, str] = {
    "programmes_programme": "programmes",
    "programmes_programmecourse": "programmes",
    "courses_course": "courses",
    "courses_category": "courses",
    "courses_review": "reviews",
    # Names of instructors and reviewers appear in catalogue pages. A new user changes
    # no page, so only UPDATE and DELETE count for this table (see _families_written).
    "accounts_user": "users",
    # Enrollments move `seats_left` and `enrollment_count`: only the course detail reads
    # this family, so lists stay cached through enrollments (their counts lag by at most
    # CATALOGUE_CACHE_TTL) while the detail is exact on the next read.
    "courses_enrollment": "seats",
}
ALL_FAMILIES = tuple(sorted(set(TABLE_FAMILIES.values())))


@functools.cache
def routes() -> tuple[Route, ...]:
    """The cached routes, derived from the API's router (core.catalogue_routes)."""
    from django.utils.module_loading import import_string

    router = import_string(settings.CATALOGUE_CACHE_ROUTER)
    return routes_from_urls(router.urls, frozenset(ALL_FAMILIES))


def match_route(path: str) -> Route | None:
    for route in routes():
        if route.pattern.match(path):
            return route
    return None


# --- Availability ----------------------------------------------------------------------


class _Breaker:
    """After a Redis error, skip the cache for a while instead of paying a timeout per call."""

    def __init__(self) -> None:
        self._open_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self, exc: BaseException) -> None:
        self._open_until = time.monotonic() + settings.CATALOGUE_CACHE_RETRY_SECONDS
        logger.warning("catalogue cache unavailable, serving from the database: %s", type(exc).__name__)

    def reset(self) -> None:
        self._open_until = 0.0


breaker = _Breaker()


class CacheUnavailable(Exception):
    pass


def cache_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if not breaker.available():
        raise CacheUnavailable
    try:
        return func(*args, **kwargs)
    except ValueError:  # incr of a missing key: an answer, not a failure
        raise
    except Exception as exc:  # any client error: refused, timed out, protocol
        breaker.trip(exc)
        raise CacheUnavailable from exc


def cache_call_quietly(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A cache call whose failure changes nothing for the caller."""
    try:
        return cache_call(func, *args, **kwargs)
    except CacheUnavailable:
        return None


# --- Generations -----------------------------------------------------------------------


def _gen_key(family: str) -> str:
    return f"gen:{family}"


def family_versions(families: Iterable[str]) -> dict[str, int]:
    """The current generation of each family: one round trip, and one more the first time."""
    cache = caches[CACHE_ALIAS]
    keys = [_gen_key(f) for f in families]
    found = cache_call(cache.get_many, keys)
    for key in keys:
        if key not in found:
            # A clock-based start: a generation lost with Redis never comes back with an
            # old value whose pages could still be cached.
            start = time.time_ns()
            cache_call(cache.add, key, start, None)
            found[key] = cache_call(cache.get, key) or start
    return {family: int(found[_gen_key(family)]) for family in families}


def bump_families(families: Iterable[str]) -> None:
    """Move the given families to a new generation: every page built on them is now a miss."""
    cache = caches[CACHE_ALIAS]
    for family in sorted(set(families)):
        key = _gen_key(family)
        try:
            try:
                cache_call(cache.incr, key)
            except ValueError:  # no generation yet: nothing can be cached under it
                cache_call(cache.add, key, time.time_ns(), None)
        except CacheUnavailable:
            # Redis is unreachable: pages cached before it went away expire within
            # CATALOGUE_CACHE_TTL; one that restarted has lost them already.
            return


# A hit in one round trip: the generations and the page they name, read by one script.
_LOOKUP_SCRIPT = """
local generations = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do
    if not generations[i] then return {generations, false} end
end
return {generations, redis.call('GET', ARGV[1] .. table.concat(generations, ','))}
"""


def _lookup(cache: Any, families: tuple[str, ...], prefix: str) -> tuple[str, Any]:
    """The current generation string of `families` and the cached page under
    `prefix + generation` (None on a miss).

    On Redis this is one round trip (a Lua script); elsewhere, or when a family has no
    generation yet, `family_versions` and a GET.
    """
    client: Any = getattr(cache, "client", None)
    if hasattr(client, "get_client"):  # django-redis
        redis = client.get_client(write=False)
        script = redis.register_script(_LOOKUP_SCRIPT)
        keys = [cache.make_key(_gen_key(family)) for family in families]
        generations, raw = script(keys=keys, args=[cache.make_key(prefix)])
        if all(g is not None for g in generations):
            generation = ",".join(str(int(g)) for g in generations)
            return generation, (client.decode(raw) if raw is not None else None)
    versions = family_versions(families)
    generation = ",".join(str(versions[family]) for family in families)
    return generation, cache.get(prefix + generation)


# --- Seeing writes ---------------------------------------------------------------------

_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+"?(\w+)"?', re.IGNORECASE)


# An UPDATE of enrollments moves seats only if it sets one of these columns.
_SEAT_COLUMNS = re.compile(r'\bSET\b.*"?\b(status|course_id)\b"?\s*=', re.IGNORECASE | re.DOTALL)


def _families_written(sql: str) -> set[str]:
    if not sql or sql.lstrip()[:1].upper() not in {"I", "U", "D", "T"}:
        return set()
    match = _WRITE.match(sql)
    if match is None:
        return set()
    verb = match.group(1).split()[0].upper()
    if verb == "TRUNCATE":  # may cascade to any table
        return set(ALL_FAMILIES)
    table = match.group(2).lower()
    family = TABLE_FAMILIES.get(table)
    if family is None or (family == "users" and verb == "INSERT"):
        return set()
    if family == "seats" and verb == "UPDATE" and not _SEAT_COLUMNS.search(sql.partition(" WHERE ")[0]):
        return set()  # e.g. progress alone: no seat moves
    return {family}


class _PendingBump:
    """Bumps the families a statement wrote at once, and again when its transaction commits.

    The first bump ends the life of pages cached before the write at once (and lets the
    writer read its own change); the second one, after commit, drops any page a concurrent
    reader built from the old rows while the transaction was still open.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.families: set[str] = set()

    def add(self, families: set[str]) -> None:
        bump_families(families)
        connection = connections[self.alias]
        if not connection.in_atomic_block:
            return
        if not any(entry[1] is self for entry in connection.run_on_commit):
            self.families = set()  # a previous transaction rolled back: start afresh
            transaction.on_commit(self, using=self.alias)
        self.families |= families

    def __call__(self) -> None:
        families, self.families = self.families, set()
        bump_families(families)


def _make_write_watcher(alias: str) -> Callable[..., Any]:
    pending = _PendingBump(alias)

    def watch_writes(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        families = _families_written(sql)
        if families:
            pending.add(families)
        return result

    watch_writes.brisk_catalogue = True  # type: ignore[attr-defined]
    return watch_writes


@receiver(connection_created)
def _install_write_watcher(sender: Any, connection: Any, **kwargs: Any) -> None:
    if not any(getattr(w, "brisk_catalogue", False) for w in connection.execute_wrappers):
        # First, not last: `connection.execute_wrapper()` blocks pop the last wrapper when
        # they end, and a connection opened inside one must not lose its watcher to it.
        connection.execute_wrappers.insert(0, _make_write_watcher(connection.alias))


def install_write_watchers() -> None:
    """Watch connections that exist already (those opened later get it from the signal)."""
    for connection in connections.all(initialized_only=True):
        _install_write_watcher(sender=None, connection=connection)


# --- Serving ---------------------------------------------------------------------------


# Answers stored like pages, for CATALOGUE_NEGATIVE_TTL: they depend on nothing but the
# request and the generations (a 404 of an unpublished course, a 400 of a bad filter).
NEGATIVE_STATUSES = frozenset({400, 404})


# Headers a cached answer gets when it is served, not stored with it.
_SET_ON_SERVING = frozenset({"ETag", "Cache-Control", "Vary", "X-Cache"})


def cache_set(key: str, value: Any, timeout: int) -> None:
    caches[CACHE_ALIAS].set(key, value, timeout)


def _vary(response: HttpResponse) -> list[str]:
    return [item.strip() for item in response.get("Vary", "").split(",") if item.strip()]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _if_none_match(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


def _normalised_query(request: HttpRequest, route: Route, *, without: frozenset[str] = frozenset()) -> str:
    items = sorted((key, value) for key in route.params - without for value in request.GET.getlist(key))
    return urlencode(items)


def _sees_public_catalogue(authorization: str) -> bool:
    """Whether a verified access token says its holder is not staff (no query: the `staff`
    claim, see accounts.serializers.TokenObtainSerializer). Anything unclear is False."""
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import AccessToken

    scheme, _, raw = authorization.partition(" ")
    if scheme != "Bearer" or not raw.strip():
        return False
    try:
        token = AccessToken(raw.strip())  # type: ignore[arg-type]  # signature, expiry, type
    except TokenError:
        return False
    return token.get("staff") is False


# Set on a public read's request by the middleware: the key of its list's shared count.
_COUNT_KEY_ATTRIBUTE = "_catalogue_count_key"


def list_count(request: HttpRequest, count: Callable[[], int]) -> int:
    """The row count of the list `request` reads: on a cached public read, computed once
    per generation of the list's families and shared by every page of the same filtered
    list (so a deep page costs its page query only); otherwise, or while Redis is away,
    `count()` itself."""
    key = getattr(request, _COUNT_KEY_ATTRIBUTE, None)
    if key is None:
        return count()
    cache = caches[CACHE_ALIAS]
    try:
        cached = cache_call(cache.get, key)
    except CacheUnavailable:
        return count()
    if cached is not None:
        return int(cached)
    value = count()
    cache_call_quietly(cache.set, key, value)
    return value


class CatalogueCacheMiddleware:
    """Serves anonymous catalogue GETs from the cache, with ETag and 304."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or not settings.CATALOGUE_CACHE_ENABLED:
            return self.get_response(request)
        route = match_route(request.path_info)
        if route is None:
            return self.get_response(request)
        if "Authorization" not in request.headers:
            return self._public(request, route)
        if not _sees_public_catalogue(request.headers["Authorization"]):
            # Staff see unpublished courses, and a bad token is the view's 401 to give:
            # never a shared entry, but still revalidated by ETag.
            return self._private(request)
        # A signed-in learner or instructor sees what anonymous callers see: the same
        # entry, marked private so that no shared cache keeps an authorised answer.
        response = self._public(request, route)
        if response.status_code in (200, 304):
            response["Cache-Control"] = "private, no-cache"
        return response

    def _private(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Cache-Control"] = "private, no-cache"
        response["X-Cache"] = "bypass"
        return self._with_etag(request, response)

    def _with_etag(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code != 200 or response.streaming:
            return response
        etag = _etag(response.content)
        response["ETag"] = etag
        if _if_none_match(request, etag):
            return self._not_modified(response, etag)
        return response

    @staticmethod
    def _not_modified(response: HttpResponse | None, etag: str) -> HttpResponse:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        source = response.headers if response is not None else {}
        for header in ("Cache-Control", "Vary", "X-Cache"):
            if header in source:
                not_modified[header] = source[header]
        return not_modified

    def _public(self, request: HttpRequest, route: Route) -> HttpResponse:
        query = _normalised_query(request, route)
        # Every page of one filtered list shares its count.
        count_query = _normalised_query(request, route, without=frozenset({"page"}))
        # The view sees the same normalised query, so the links it builds are the same
        # for every spelling of one request.
        request.GET = QueryDict(query)
        request.META["QUERY_STRING"] = query
        origin = f"{request.scheme}://{request.get_host()}{request.path}"
        prefix = f"answer:{_digest(f'{origin}?{query}')}|"
        try:
            generation, entry = cache_call(_lookup, caches[CACHE_ALIAS], route.families, prefix)
        except CacheUnavailable:
            return self._compute(request, key=None)
        setattr(request, _COUNT_KEY_ATTRIBUTE, f"count:{_digest(f'{request.path}?{count_query}')}|{generation}")
        if entry is not None:
            return self._from_entry(request, entry, hit=True)
        return self._compute(request, key=prefix + generation)

    def _from_entry(self, request: HttpRequest, entry: dict[str, Any], *, hit: bool) -> HttpResponse:
        response = HttpResponse(entry["body"], status=entry["status"])
        for name, value in entry["headers"]:
            response[name] = value
        etag = entry["etag"]
        if etag is None:  # a negative answer
            self._negative_headers(response, entry["vary"], hit=hit)
            return response
        self._public_headers(response, etag, hit=hit)
        if _if_none_match(request, etag):
            return self._not_modified(response, etag)
        return response

    @staticmethod
    def _negative_headers(response: HttpResponse, vary: str, *, hit: bool) -> None:
        response["Vary"] = vary
        response["X-Cache"] = "hit" if hit else "miss"

    @staticmethod
    def _public_headers(response: HttpResponse, etag: str, *, hit: bool) -> None:
        response["ETag"] = etag
        response["Cache-Control"] = f"public, max-age=0, s-maxage={settings.CATALOGUE_CDN_MAX_AGE}"
        response["Vary"] = "Accept, Authorization"
        response["X-Cache"] = "hit" if hit else "miss"

    def _compute(self, request: HttpRequest, *, key: str | None) -> HttpResponse:
        cache = caches[CACHE_ALIAS]
        if key is None:
            response = self._with_etag(request, self.get_response(request))
            if response.status_code in (200, 304):
                response["Cache-Control"] = f"public, max-age=0, s-maxage={settings.CATALOGUE_CDN_MAX_AGE}"
                response["X-Cache"] = "bypass"
            return response
        # One request computes a missing page; the others wait for it briefly (no stampede).
        lock_key = f"lock:{key}"
        try:
            owner = cache_call(cache.add, lock_key, 1, settings.CATALOGUE_LOCK_SECONDS)
        except CacheUnavailable:
            owner = True
        if owner:
            # The previous owner may have stored the page between our miss and our lock.
            try:
                entry = cache_call(cache.get, key)
            except CacheUnavailable:
                entry = None
            if entry is not None:
                cache_call_quietly(cache.delete, lock_key)
                return self._from_entry(request, entry, hit=True)
        else:
            # Until the entry comes, or the lock goes without one (the computation ended
            # in an answer that is not stored, e.g. a 5xx): then compute it here at once.
            deadline = time.monotonic() + settings.CATALOGUE_LOCK_WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.01)
                try:
                    found = cache_call(cache.get_many, [key, lock_key])
                except CacheUnavailable:
                    break
                if key in found:
                    return self._from_entry(request, found[key], hit=True)
                if lock_key not in found:
                    break
        # Built on the primary: a replica behind the last write would freeze its lag into
        # an entry every reader shares (see the module docstring).
        pin_token = pinned.set(True)
        try:
            response = self.get_response(request)
            # Stored before the lock goes: a waiter that sees no lock and no entry knows
            # that nothing is coming and computes at once.
            stored = self._store(key, response)
        finally:
            pinned.reset(pin_token)
            if owner:
                cache_call_quietly(cache.delete, lock_key)
        if stored is None:
            return response
        if stored["etag"] is None:
            self._negative_headers(response, stored["vary"], hit=False)
            return response
        etag = stored["etag"]
        self._public_headers(response, etag, hit=False)
        if _if_none_match(request, etag):
            return self._not_modified(response, etag)
        return response

    @staticmethod
    def _store(key: str, response: HttpResponse) -> dict[str, Any] | None:
        """Store a 200 (the page) or a 404/400 (briefly) with the headers the views and the
        middleware below this one gave it, so that a hit is the same answer; return the
        entry, or None."""
        if response.streaming or response.status_code not in {200, *NEGATIVE_STATUSES}:
            return None
        body = response.content
        entry = {
            "status": response.status_code,
            "body": body,
            "headers": [(name, value) for name, value in response.items() if name not in _SET_ON_SERVING],
            "etag": None,
            "vary": "",
        }
        if response.status_code == 200:
            entry["etag"] = _etag(body)
            cache_call_quietly(cache_set, key, entry, settings.CATALOGUE_CACHE_TTL)
        else:
            # A 404 or 400 is as much a function of the generations as a page: stored
            # briefly, so a flood of requests for a missing id costs one computation.
            entry["vary"] = ", ".join(dict.fromkeys([*_vary(response), "Accept", "Authorization"]))
            cache_call_quietly(cache_set, key, entry, settings.CATALOGUE_NEGATIVE_TTL)
        return entry
