from django.conf import settings
from django.db import models
from django.db.models import Q


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key` header (core.idempotency).

    A row is inserted in the same transaction as the write it guards and committed with its
    answer, so a committed row always has one: a concurrent duplicate waits on the unique
    index until the first commits (then replays it) or rolls back (then runs itself).
    Kept in the database, not the cache, so a Redis restart cannot cause a second effect.
    """

    key = models.CharField(max_length=255)
    # Keys are scoped per caller; anonymous callers (registration) share one scope.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # sha256 of method, path and canonical JSON body: another body under one key is a 422.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], condition=Q(user__isnull=False), name="idempotencykey_user_key_unique"
            ),
            models.UniqueConstraint(
                fields=["key"], condition=Q(user__isnull=True), name="idempotencykey_anonymous_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotencykey_created_idx")]

    def __str__(self) -> str:
        answer = self.status_code if self.status_code is not None else "no answer yet"
        return f"Idempotency-Key {self.key!r}: {answer}"
