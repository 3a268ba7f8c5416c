from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from courses.bulk import BATCH_SIZE, courses_set_published
from courses.models import Course


class Command(BaseCommand):
    help = (
        "Publish (or with --unpublish, unpublish) a selection of courses of any size (what the admin's actions "
        "do for up to 10,000), in batches of --batch-size, each its own short transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unpublish", action="store_true")
        parser.add_argument("--category", help="A category slug.")
        parser.add_argument("--course", type=int, action="append", default=[], help="A course id (repeatable).")
        parser.add_argument("--all", action="store_true", help="Every course (required when no other option is).")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        courses = Course.objects.all()
        if options["category"]:
            courses = courses.filter(category__slug=options["category"])
        if options["course"]:
            courses = courses.filter(pk__in=options["course"])
        if not (options["category"] or options["course"] or options["all"]):
            raise CommandError("Select courses with --category or --course, or pass --all.")
        published = not options["unpublish"]
        changed = courses_set_published(courses, published, batch_size=options["batch_size"])
        self.stdout.write(f"{'Published' if published else 'Unpublished'} {changed} course(s).")
