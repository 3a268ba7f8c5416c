"""Users in the admin: e-mail login (no username), role and plan, at 200,000 rows."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_pagination import EstimatedCountPaginator

from .lifecycle import tokens_revoke_all
from .models import User


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "plan")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    # 50 rows, not 100: at millions of rows the page's cost is rendering, not SQL.
    list_per_page = 50
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Brisk", {"fields": ("role", "plan")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "plan", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "first_name", "last_name", "role", "plan", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "plan", "is_staff", "is_superuser", "is_active")
    # E-mail only: it has a trigram index (accounts.0002); an OR with the unindexed name
    # columns would turn every search into a scan of the whole table.
    search_fields = ("email",)
    search_help_text = "Part of an e-mail address."
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    SEARCH_ID_LIMIT = 1_000
    actions = ("sign_out_everywhere",)

    @admin.action(description="Sign out everywhere (revoke every token of the selected users)")
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = tokens_revoke_all(users=queryset, request=request, by=f"staff:{request.user.pk}")
        self.message_user(request, f"Every token of {changed} user(s) revoked.", messages.SUCCESS)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        """Django's search, with the matching ids fetched first when they are few.

        PostgreSQL guesses about 1% of the users for any `LIKE '%term%'` and then prefers
        walking the e-mail index in list order, filtering as it goes: 80,000 rows read for
        a term that matches 250. An unordered id query uses the trigram index; a list of a
        few hundred ids is then an exact lookup. A term with more matches than that keeps
        the plain search, where walking the list order is the right plan.
        """
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip() or may_have_duplicates:
            return queryset, may_have_duplicates
        ids = list(queryset.order_by().values_list("pk", flat=True)[: self.SEARCH_ID_LIMIT + 1])
        if len(ids) > self.SEARCH_ID_LIMIT:
            return queryset, False
        return self.model._default_manager.filter(pk__in=ids), False
