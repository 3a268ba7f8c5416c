from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User


class EmailBackend(ModelBackend):
    """Django's ModelBackend, with the e-mail matched whatever its case.

    Registration stores e-mails in lower case and refuses case-insensitive duplicates; this
    also lets accounts created before that (createsuperuser keeps the local part's case)
    log in. One query, and the same hashing cost whether or not the account exists.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if not email or password is None:
            return None
        matches = list(User._default_manager.filter(email__iexact=email.strip())[:2])
        if len(matches) != 1:
            User().set_password(password)  # same time as a real check (timing attacks)
            return None
        user = matches[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
