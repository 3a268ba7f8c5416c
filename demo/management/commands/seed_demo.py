"""`manage.py seed_demo`: the demo data set, from a few seconds (small) to 2M enrollments."""

import argparse
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter, OutputWrapper
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper
from tqdm import tqdm

from accounts.models import User
from core.catalogue_cache import ALL_FAMILIES, bump_families
from courses.models import Category, Course, Enrollment, Review
from demo.demo_data import (
    DEMO_ACCOUNT_AGE_DAYS,
    DEMO_ACCOUNTS,
    DEMO_EMAIL_SUFFIX,
    GENERATED_USER_PASSWORD,
    SIZES,
    DemoData,
    DemoSize,
    IdBases,
    Row,
    demo_anchor,
)
from programmes.models import Programme, ProgrammeCourse

# Children first: the order in which the ORM can delete them.
SEEDED_MODELS: tuple[type[models.Model], ...] = (
    Review,
    Enrollment,
    ProgrammeCourse,
    Course,
    Category,
    Programme,
    User,
)
BULK_CREATE_BATCH = 2_000
PROGRESS_STEP = 5_000

EPILOG = f"""\
sizes (override any part with --programmes/--courses/--users/--enrollments):
  small   50 programmes, 500 courses, 2,000 users, 10,000 enrollments (the default)
  medium  200 programmes, 4,000 courses, 20,000 users, 200,000 enrollments
  large   2,000 programmes, 40,000 courses, 200,000 users, 2,000,000 enrollments
  Each adds 20 categories, 1-3 programme places per course and reviews for about
  15% of held enrollments. Users are counted without the demo accounts.

running it again:
  The command only seeds a database without demo data (no programmes, no courses and
  no user e-mail ending in "{DEMO_EMAIL_SUFFIX}"). On one that has some it writes nothing,
  says so, and exits 0, so a second run never fails or duplicates. --reset rebuilds:
  it first empties the users, programmes, categories, courses, enrollments and reviews
  tables (TRUNCATE ... CASCADE on PostgreSQL, so also rows that refer to users, such as
  admin log entries). --if-empty is the same check without the advice (for `make run`).

demo accounts (local use only):
{chr(10).join(f"  {a.email:<24} {a.password:<24} {a.role}" for a in DEMO_ACCOUNTS)}
  Every generated user (...@demo.brisk.local) has the password "{GENERATED_USER_PASSWORD}".
"""


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return number


class _RawHelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the epilog's tables kept as written."""


class _ProgressStream:
    """tqdm redraws a line with '\\r'; the command's OutputWrapper would end each write with '\\n'."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()


class Command(BaseCommand):
    help = "Build a realistic, deterministic demo data set (see the sizes and demo accounts below)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _RawHelpFormatter)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EPILOG
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=list(SIZES), default="small", help="Preset size (default: small).")
        for name in ("programmes", "courses", "users", "enrollments"):
            parser.add_argument(f"--{name}", type=_non_negative, help=f"Number of {name} (overrides --size).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: same seed, same data (default: 42).")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--reset", action="store_true", help="Delete the seeded tables' rows first, then seed.")
        when.add_argument(
            "--if-empty", action="store_true", help="Seed only a database without demo data; else do nothing quietly."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars (also with -v 0).")

    def handle(self, *args: Any, **options: Any) -> None:
        size = dataclasses.replace(
            SIZES[options["size"]],
            **{
                name: options[name]
                for name in ("programmes", "courses", "users", "enrollments")
                if options[name] is not None
            },
        )
        self.verbosity = options["verbosity"]
        self.show_progress = self.verbosity > 0 and not options["no_progress"]
        self.postgres = connection.vendor == "postgresql"

        if not options["reset"] and (present := self._demo_data_present()):
            if options["if_empty"]:
                self._say(f"Demo data already present ({present}); nothing to do.")
            else:
                self.stderr.write(
                    f"The database already holds demo data ({present}); nothing was written. "
                    "Run `manage.py seed_demo --reset` to rebuild it."
                )
            return

        started = time.monotonic()
        outer_transaction = connection.in_atomic_block
        with transaction.atomic():
            if self.postgres:
                self._lift_session_limits()
            if options["reset"]:
                self._reset()
            written = self._seed(size, options["seed"])
            for sql in connection.ops.sequence_reset_sql(no_style(), list(SEEDED_MODELS)):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
        # COPY goes around Django's cursor, where the catalogue cache watches for writes.
        bump_families(ALL_FAMILIES)
        if self.postgres:
            analyze_started = time.monotonic()
            self._analyze(vacuum=not outer_transaction)
            self._say(f"Statistics in {time.monotonic() - analyze_started:.1f}s", verbosity=2)

        elapsed = time.monotonic() - started
        self._say(f"Seeded in {elapsed:.1f}s: " + ", ".join(f"{n:,} {table}" for table, n in written.items()) + ".")
        self._say("Demo accounts: " + "; ".join(f"{a.email} / {a.password}" for a in DEMO_ACCOUNTS) + ".")

    # --- Steps ---------------------------------------------------------------------------

    def _demo_data_present(self) -> str:
        """A short description of the demo data in the database, empty when there is none."""
        found = {
            "programmes": Programme.objects.count(),
            "courses": Course.objects.count(),
            "demo users": User.objects.filter(email__endswith=DEMO_EMAIL_SUFFIX).count(),
        }
        return ", ".join(f"{n:,} {what}" for what, n in found.items() if n)

    def _lift_session_limits(self) -> None:
        """The API's per-statement deadlines do not apply to a bulk load (this transaction only)."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Check deferred constraints of earlier writes now: TRUNCATE and ALTER TABLE
            # refuse to run on a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def _reset(self) -> None:
        if self.postgres:
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in SEEDED_MODELS)
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            for model in SEEDED_MODELS:
                model._default_manager.all().delete()
        self._say("Deleted the existing demo data.")

    def _seed(self, size: DemoSize, seed: int) -> dict[str, int]:
        anchor = demo_anchor()
        joined = anchor - timedelta(days=DEMO_ACCOUNT_AGE_DAYS)
        # Four slow hashes (PBKDF2 releases the GIL, so they run side by side); the last
        # one is shared by every generated user: hashing 200,000 passwords would take hours.
        with ThreadPoolExecutor() as pool:
            *account_hashes, shared_hash = pool.map(
                make_password, [a.password for a in DEMO_ACCOUNTS] + [GENERATED_USER_PASSWORD]
            )
        accounts = {}
        for account, password_hash in zip(DEMO_ACCOUNTS, account_hashes, strict=True):
            accounts[account.role] = User.objects.create(
                email=account.email,
                password=password_hash,
                first_name=account.first_name,
                last_name=account.last_name,
                role=account.role,
                is_staff=account.is_staff,
                is_superuser=account.is_superuser,
                date_joined=joined,
            )
        data = DemoData(
            seed=seed,
            size=size,
            anchor=anchor,
            ids=self._id_bases(),
            password_hash=shared_hash,
            demo_instructor_id=accounts["instructor"].pk,
            demo_student_id=accounts["student"].pk,
        )
        write = self._copy if self.postgres else self._bulk_create
        written = {}
        for table, label, fields in DemoData.TABLES:
            model = apps.get_model(label)
            started = time.monotonic()
            with self._progress(table, data.expected_count(table)) as advance:
                written[table] = write(model, fields, data.rows(table), advance)
            self._say(f"{table}: {written[table]:,} rows in {time.monotonic() - started:.1f}s", verbosity=2)
        return written

    def _id_bases(self) -> IdBases:
        """Ids are assigned here, not by the database, so rows can refer to each other
        without reading anything back."""

        def after_last(model: type[models.Model]) -> int:
            last = model._default_manager.aggregate(last=models.Max("pk"))["last"]
            return (last or 0) + 1

        return IdBases(
            category=after_last(Category),
            programme=after_last(Programme),
            user=after_last(User),
            course=after_last(Course),
            programme_course=after_last(ProgrammeCourse),
            enrollment=after_last(Enrollment),
            review=after_last(Review),
        )

    def _analyze(self, *, vacuum: bool) -> None:
        """Fresh statistics for the planner (and, outside a transaction, a visibility map
        so that index-only scans skip the heap)."""
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in SEEDED_MODELS)
        with connection.cursor() as cursor:
            if not vacuum:
                cursor.execute(f"ANALYZE {tables}")
                return
            cursor.execute("SET statement_timeout = 0")
            try:
                cursor.execute(f"VACUUM (ANALYZE) {tables}")
            finally:
                cursor.execute("RESET statement_timeout")

    # --- Writers -------------------------------------------------------------------------

    def _copy(
        self, model: type[models.Model], fields: tuple[str, ...], rows: Iterable[Row], advance: Callable[[int], None]
    ) -> int:
        """PostgreSQL: COPY into the table with its secondary indexes and foreign keys
        dropped, then rebuilt once (what the PostgreSQL manual advises for a bulk load)."""
        table = model._meta.db_table
        column_of = {f.attname: f.column or f.attname for f in model._meta.concrete_fields}
        columns = [column_of[f] for f in fields]
        count = 0
        with connection.cursor() as cursor:
            with _without_secondary_indexes(cursor, table):
                # Binary COPY: the server parses no text (timestamps and numerics above all).
                cursor.execute(
                    "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                    [table],
                )
                types = dict(cursor.fetchall())
                quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
                raw = cursor.cursor  # psycopg 3's own cursor: Django's wrapper has no copy()
                sql = f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN (FORMAT BINARY)"
                with raw.copy(sql) as copy:
                    copy.set_types([types[c] for c in columns])
                    for count, row in enumerate(rows, 1):
                        copy.write_row(row)
                        if not count % PROGRESS_STEP:
                            advance(PROGRESS_STEP)
                advance(count % PROGRESS_STEP)
                loaded = time.monotonic()
            self._say(f"{table}: indexes and constraints rebuilt in {time.monotonic() - loaded:.1f}s", verbosity=2)
        return count

    def _bulk_create(
        self, model: type[models.Model], fields: tuple[str, ...], rows: Iterable[Row], advance: Callable[[int], None]
    ) -> int:
        """Other databases: bulk_create in batches, keeping the rows' own timestamps."""
        manager = model._default_manager
        count = 0
        with _given_timestamps(model):
            for batch in _batches(rows, BULK_CREATE_BATCH):
                manager.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in batch])
                count += len(batch)
                advance(len(batch))
        return count

    # --- Output --------------------------------------------------------------------------

    @contextmanager
    def _progress(self, table: str, total: int | None) -> Iterator[Callable[[int], None]]:
        with tqdm(
            total=total,
            desc=f"{table:>17}",
            unit=" rows",
            file=_ProgressStream(self.stderr),
            disable=not self.show_progress,
            mininterval=0.5,
            dynamic_ncols=True,
        ) as bar:
            yield bar.update

    def _say(self, message: str, *, verbosity: int = 1) -> None:
        if self.verbosity >= verbosity:
            self.stdout.write(message)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def _given_timestamps(model: type[models.Model]) -> Iterator[None]:
    """bulk_create would stamp auto_now/auto_now_add fields with the current time; demo rows
    carry their own history. Restored on the way out."""
    fields = [f for f in model._meta.concrete_fields if isinstance(f, models.DateField)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


@contextmanager
def _without_secondary_indexes(cursor: CursorWrapper, table: str) -> Iterator[None]:
    """Drop `table`'s foreign keys, unique constraints (unless a foreign key points at one)
    and other non-primary indexes, and put them back afterwards under the same names.

    Rebuilding an index once is much faster than maintaining it row by row, and adding a
    foreign key back checks every row in one join instead of one trigger per row. All of
    it happens inside the caller's transaction: on an error nothing is left dropped.
    """
    cursor.execute(
        """
        SELECT c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE c.conrelid = %s::regclass
          AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS (
                SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))
        ORDER BY c.contype = 'u', c.conname
        """,
        [table],
    )
    constraints = cursor.fetchall()  # foreign keys first: they may rely on a unique index
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY 1
        """,
        [table],
    )
    indexes = cursor.fetchall()
    quoted = connection.ops.quote_name(table)
    for name, _definition, _kind in constraints:
        cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    for _name, definition in indexes:
        cursor.execute(definition)
    for name, definition, _kind in reversed(constraints):  # unique constraints, then foreign keys
        cursor.execute(f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
