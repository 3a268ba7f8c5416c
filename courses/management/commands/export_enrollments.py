from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from courses.bulk import enrollments_csv

from ._selection import add_enrollment_selection, enrollment_selection


class Command(BaseCommand):
    help = (
        "Write a selection of enrollments of any size as CSV (the admin's export, which stops at 50,000), "
        "read in short queries of 2,000 rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_enrollment_selection(parser)
        parser.add_argument("--output", help="A file to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        lines = enrollments_csv(enrollment_selection(options))
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
        else:
            for line in lines:
                self.stdout.write(line, ending="")
