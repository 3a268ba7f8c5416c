from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Upper


class UserManager(BaseUserManager["User"]):
    """Users log in by e-mail; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.STAFF)
        return self._create_user(email, password, **extra)


class UserRole(models.TextChoices):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    STAFF = "staff"


class UserPlan(models.TextChoices):
    FREE = "free"
    PRO = "pro"


class User(AbstractUser):
    """An account. `role` and `plan` are plain columns: reading them never queries."""

    # Module-level enums, so that the constraints below can name their values.
    Role = UserRole
    Plan = UserPlan

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    plan = models.CharField(max_length=8, choices=Plan.choices, default=Plan.FREE)
    # Carried in every token as `gen` and compared with the row authentication loads anyway
    # (accounts.authentication): raising it revokes every token of the user at once.
    # db_default: seed_demo's COPY names its columns and leaves this one out.
    token_generation = models.PositiveIntegerField(default=0, db_default=0)
    email_verified_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=UserRole.values), name="user_role_valid"),
            models.CheckConstraint(condition=models.Q(plan__in=UserPlan.values), name="user_plan_valid"),
        ]
        indexes = [
            models.Index(fields=["role", "id"], name="user_role_id_idx"),
            # Login and registration match e-mails case-insensitively (`email__iexact`,
            # UPPER(email) = UPPER(%s)): an exact btree lookup instead of a trigram scan.
            models.Index(Upper("email"), name="user_email_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        """Whether the address was confirmed (a column already loaded: no query)."""
        return self.email_verified_at is not None

    @property
    def name(self) -> str:
        """Display name from columns already loaded: first and last name, else the e-mail."""
        return f"{self.first_name} {self.last_name}".strip() or self.email
