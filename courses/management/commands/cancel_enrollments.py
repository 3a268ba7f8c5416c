from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from courses.bulk import BATCH_SIZE, enrollments_cancel

from ._selection import add_enrollment_selection, enrollment_selection


class Command(BaseCommand):
    help = (
        "Cancel the active enrollments of a selection of any size (what the admin's action does for up to "
        "10,000), in batches of --batch-size, each its own short transaction; completed ones stay completed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_enrollment_selection(parser)
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        cancelled = enrollments_cancel(enrollment_selection(options), batch_size=options["batch_size"])
        self.stdout.write(f"Cancelled {cancelled} active enrollment(s).")
