"""Filter fields that turn every bad value into a 400 naming its parameter.

Django's form fields already refuse NUL bytes in text; these add the cases django-filter
lets through: a boolean that is neither true nor false, ids beyond the column's range.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import BaseCSVField
from drf_spectacular.utils import extend_schema_field

MAX_ID = 2**63 - 1  # BigAutoField


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`, anything else is a 400 (django-filter's BooleanFilter ignores it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


# The schema gives the range, so a client (or a fuzzer) knows 0 and 2**63 are refused.
@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID, "format": "int64"})
class IdFilter(django_filters.NumberFilter):
    """A positive integer id within the column's range."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class OrderingCSVField(BaseCSVField):
    """A comma-separated ordering without empty items: `ordering=title,` or `ordering=,`
    reached `order_by("")`, a FieldError and a 500 (found by `make fuzz`). `ordering=`
    alone is still no ordering at all, as an empty value is for every filter."""

    def clean(self, value: Any) -> Any:
        if value and any(item in self.empty_values for item in value):
            raise forms.ValidationError("An empty item: give field names separated by commas, such as 'title,-price'.")
        return super().clean(value)


class TieBreakOrderingFilter(django_filters.OrderingFilter):
    """Ordering from a fixed list, the default when absent, and `id` last so pages never overlap."""

    base_field_class = OrderingCSVField

    def __init__(self, *args: Any, default: tuple[str, ...], **kwargs: Any) -> None:
        self.default_ordering = default
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: list[str] | None) -> QuerySet[Any]:
        fields = [self.get_ordering_value(param) for param in value] if value else list(self.default_ordering)
        if "id" not in fields and "-id" not in fields:
            fields.append("id")
        return qs.order_by(*fields)
