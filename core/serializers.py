"""The base of every write shape (request bodies)."""

from collections.abc import Mapping
from typing import Any, TypeVar

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

T = TypeVar("T")

# Course and programme descriptions: pages of prose, not documents.
MAX_DESCRIPTION_LENGTH = 20_000

NOT_A_STRING = "Not a valid string: send a JSON string."
NOT_A_BOOLEAN = "Must be a JSON boolean: true or false."
NOT_A_DECIMAL_STRING = 'Not a valid decimal: send a JSON string such as "12.50".'


class NewPasswordField(serializers.CharField):
    """A password being chosen. The rules are AUTH_PASSWORD_VALIDATORS, applied by the
    service that sets it; the schema states them (core.schema: minLength, pattern, the
    rules in words), so a client knows in advance which passwords are refused."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("max_length", 128)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)


class StrictInputSerializer(serializers.Serializer[T]):
    """Text and boolean fields take the JSON type the schema states, and nothing else.

    DRF coerces on input: a CharField turns `0` into `"0"` and a BooleanField reads `0`,
    `"yes"` or `"off"` as booleans. For a JSON API that is a client bug passed silently
    (found by the contract fuzzer: `{"last_name": 0}` saved a name "0", `{"is_active": 0}`
    unpublished a programme; `{"price": 0}` was read as a price, where the schema says a
    decimal string). Here such a value is a 400 naming the field; `null` is left to the
    field (allow_null). Integers keep DRF's parsing (`"5"` is read as 5).
    """

    def to_internal_value(self, data: Any) -> Any:
        type_errors: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            for field in self._writable_fields:
                name = str(field.field_name)
                value = data.get(name)
                if value is None:
                    continue
                if isinstance(field, serializers.CharField) and not isinstance(value, str):
                    type_errors[name] = [NOT_A_STRING]
                elif isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
                    type_errors[name] = [NOT_A_BOOLEAN]
                elif isinstance(field, serializers.DecimalField) and not isinstance(value, str):
                    # Money is a decimal string (a JSON number is a binary float).
                    type_errors[name] = [NOT_A_DECIMAL_STRING]
        try:
            validated = super().to_internal_value(data)
        except ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise ValidationError({**detail, **type_errors}) from exc
        if type_errors:
            raise ValidationError(type_errors)
        return validated
