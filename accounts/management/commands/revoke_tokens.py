"""`manage.py revoke_tokens EMAIL...`: sign the users out everywhere, at once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.lifecycle import tokens_revoke_all
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Revoke every access and refresh token of the given users (by e-mail): their next "
        "request with any of them is a 401, on every instance, and they must sign in again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("emails", nargs="+", help="e-mail addresses, any case")

    def handle(self, *args: Any, **options: Any) -> None:
        missing = []
        for email in options["emails"]:
            users = User.objects.filter(email__iexact=email.strip())
            if not tokens_revoke_all(users=users, by="command"):
                missing.append(email)
                continue
            self.stdout.write(f"{email.strip()}: every token revoked")
        if missing:
            raise CommandError(f"No user with these e-mail addresses: {', '.join(missing)}")
