import django_filters
from drf_spectacular.utils import extend_schema_field

from core.filters import IdFilter, TieBreakOrderingFilter
from core.schema import decimal_pattern

from .models import Course, Enrollment


# A decimal string, as prices are written everywhere in the API; the pattern says its digits.
@extend_schema_field({"type": "string", "format": "decimal", "pattern": decimal_pattern(10, 2, negative=True)})
class PriceFilter(django_filters.NumberFilter):
    """A finite price that fits the column: `abc`, `NaN`, `inf` or `1e100` are a 400."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        # forms.DecimalField already refuses NaN and infinities.
        kwargs.setdefault("max_digits", 10)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class CourseFilter(django_filters.FilterSet):
    programme = IdFilter(field_name="programme_links__programme")
    category = IdFilter(field_name="category")
    instructor = IdFilter(field_name="instructor")
    price_min = PriceFilter(field_name="price", lookup_expr="gte")
    price_max = PriceFilter(field_name="price", lookup_expr="lte")
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains", max_length=200)
    ordering = TieBreakOrderingFilter(fields=("title", "price", "created_at"), default=("title",))

    class Meta:
        model = Course
        fields = ("programme", "category", "instructor", "price_min", "price_max", "search", "ordering")


class EnrollmentFilter(django_filters.FilterSet):
    # Applied inside the caller's own enrollments (staff: everyone's).
    user = IdFilter(field_name="user")
    course = IdFilter(field_name="course")
    status = django_filters.ChoiceFilter(choices=Enrollment.Status.choices)

    class Meta:
        model = Enrollment
        fields = ("user", "course", "status")
