"""The OpenAPI schema says what the API really answers, errors included.

drf-spectacular documents the success of each operation only. `AutoSchema` adds, to every
operation, the error answers its shape makes possible (a contract fuzzer flags any status
that the schema does not list):

- 400 when it takes input (a body, query parameters or an `Idempotency-Key` header);
- 401 when a token may be sent (a bad or expired one is refused, never read as anonymous),
  and on the token endpoints (wrong credentials);
- 404 when its path names an object, or its list is paginated (a page past the last);
- 413 and 415 when it takes a body (too large; not JSON);
- 422 when it honours `Idempotency-Key` (a key reused with another body);
- 429 when it is throttled;
- 503 always: the database or the cache is unavailable or too slow.

403 and 409 depend on rules that only the view knows: views list them in `extend_schema`
(`FORBIDDEN`, `CONFLICT` below). Explicit responses are never replaced.

Filters (django-filter) are marked `allowEmptyValue`: an empty one is no filter.

Request fields say exactly what the server accepts, so that every schema-valid request is
accepted unless it breaks a rule that needs the database (an unknown id, a slug or e-mail
already taken, a password too common or too like the e-mail; tests/fault/fuzz_hooks.py):
a list that may not be empty has `minItems: 1`; a decimal has a pattern with its digits
(drf-spectacular's lets `""` through); a new password (`NewPasswordField`) has the
`minLength`, the pattern and the description of AUTH_PASSWORD_VALIDATORS; other text has
a pattern without NUL characters (DRF refuses them) and, where a blank text is refused,
with a character that is not whitespace (DRF trims it).

It also marks the authentication of public reads optional (`security: [{jwtAuth: []}, {}]`)
for permission classes that let anonymous callers read (`allows_anonymous_reads`), as
drf-spectacular already does for DRF's own `AllowAny` and `IsAuthenticatedOrReadOnly`.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth import password_validation
from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework_simplejwt.views import TokenViewBase

from core.serializers import NewPasswordField

# An id that fits the BigAutoField (any 18 digits do): a longer one is a 404 from the
# router, before a query could hand the driver an integer it cannot bind. Every viewset's
# `lookup_value_regex`.
ID_PATTERN = r"[0-9]{1,18}"
# The schema types the path's id as the integer it is (the regex alone reads as a string).
ID_PARAMETER = OpenApiParameter(
    "id", {"type": "integer", "minimum": 1, "maximum": 10**18 - 1, "format": "int64"}, OpenApiParameter.PATH
)

ERROR_DETAIL_REF = {"$ref": "#/components/schemas/ErrorDetail"}
VALIDATION_ERROR_REF = {"$ref": "#/components/schemas/ValidationError"}

# Registered in components/schemas by the first operation that refers to them.
ERROR_COMPONENTS: dict[str, Any] = {
    "ErrorDetail": {
        "type": "object",
        "description": "An error that is not about one field: what went wrong, in a sentence.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            'Invalid input: for each field, query parameter or header at fault, its messages ({"price": '
            '["A valid number is required."]}); items of a list are keyed by their index. A body that is '
            'not JSON at all is {"detail": "JSON parse error - ..."}.'
        ),
        "additionalProperties": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "object"},
            ]
        },
    },
}

BAD_REQUEST = OpenApiResponse(VALIDATION_ERROR_REF, description="Invalid input; the body names what is wrong.")
UNAUTHENTICATED = OpenApiResponse(ERROR_DETAIL_REF, description="Missing, invalid or expired credentials.")
FORBIDDEN = OpenApiResponse(ERROR_DETAIL_REF, description="The caller may not do this.")
NOT_FOUND = OpenApiResponse(ERROR_DETAIL_REF, description="No such object for this caller, or a page past the last.")
CONFLICT = OpenApiResponse(ERROR_DETAIL_REF, description="The current state of the resource forbids it.")
TOO_LARGE = OpenApiResponse(ERROR_DETAIL_REF, description="The request body is larger than the server accepts.")
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(ERROR_DETAIL_REF, description="The request body is not JSON.")
IDEMPOTENCY_KEY_REUSED = OpenApiResponse(
    ERROR_DETAIL_REF, description="This Idempotency-Key was already used with another request."
)
THROTTLED = OpenApiResponse(ERROR_DETAIL_REF, description="Too many requests; retry after `Retry-After` seconds.")
UNAVAILABLE = OpenApiResponse(
    ERROR_DETAIL_REF, description="The database or the cache is unavailable or too slow; retry after `Retry-After`."
)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def decimal_pattern(max_digits: int | None, decimal_places: int | None, *, negative: bool) -> str:
    """The decimal strings a DecimalField with these limits reads: at most max_digits -
    decimal_places whole digits, at most decimal_places after the point, at least one
    digit, a sign only where negative values are valid."""
    places = decimal_places if decimal_places is not None else 30
    whole = f"{{1,{max(1, max_digits - places)}}}" if max_digits is not None else "+"
    fraction = rf"(?:\.\d{{0,{places}}})?" if places else ""
    alone = rf"|\.\d{{1,{places}}}" if places else ""
    return f"^{'-?' if negative else ''}(?:\\d{whole}{fraction}{alone})$"


# DRF's CharField refuses a NUL character anywhere, and, when it trims whitespace and may
# not be blank, a text of whitespace only. (Unbounded: `maxLength` bounds the text, and
# bounded repeats made a generator draw texts thousands of characters long.)
def text_pattern(*, blank_refused: bool, numeric_refused: bool = False) -> str:
    if numeric_refused:  # a character that is neither NUL nor a digit
        return r"^[^\x00]*[^\x00\d][^\x00]*$"
    if blank_refused:  # a character that is neither NUL nor whitespace
        return r"^\s*[^\x00\s][^\x00]*$"
    # (at least one character: drf-spectacular offers a blank text as a `oneOf` alternative)
    return r"^[^\x00]+$"


def password_rules() -> dict[str, Any]:
    """What AUTH_PASSWORD_VALIDATORS require, as far as a schema can say it: the minimum
    length, not entirely numeric (a non-digit somewhere), and every rule in words."""
    rules: dict[str, Any] = {}
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            rules["minLength"] = max(rules.get("minLength", 1), validator.min_length)
        elif isinstance(validator, password_validation.NumericPasswordValidator):
            rules["numeric_refused"] = True
    texts = password_validation.password_validators_help_texts()
    if texts:
        rules["description"] = " ".join(texts)
    return rules


class AutoSchema(openapi.AutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in ERROR_COMPONENTS.items():
            registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        if self._anonymous_may_call() and operation.get("security") and {} not in operation["security"]:
            operation["security"].append({})
        self._mark_empty_filters_allowed(operation)
        for code, response in self._error_responses(operation).items():
            if code not in operation["responses"]:
                operation["responses"][code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        if isinstance(field, serializers.ListField) and not field.allow_empty:
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        elif isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            min_value = field.min_value
            negative = min_value is None or Decimal(min_value) < 0
            schema["pattern"] = decimal_pattern(field.max_digits, field.decimal_places, negative=negative)
        elif isinstance(field, NewPasswordField):
            rules = password_rules()
            schema["minLength"] = max(schema.get("minLength", 0), rules.get("minLength", 0))
            schema["pattern"] = text_pattern(blank_refused=False, numeric_refused=rules.get("numeric_refused", False))
            if "description" in rules:
                schema["description"] = rules["description"]
        elif (
            isinstance(field, serializers.CharField)
            and not {"pattern", "format", "enum"} & set(schema)
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)
        ):
            blank_refused = field.trim_whitespace and not field.allow_blank
            schema["pattern"] = text_pattern(blank_refused=blank_refused)
        return schema

    def _mark_empty_filters_allowed(self, operation: dict[str, Any]) -> None:
        """django-filter reads `?category=` as no filter at all (as an HTML form sends an
        unset field): the schema says so, or a fuzzer takes the empty value for invalid
        input that the server accepted (found by `make fuzz`)."""
        filterset = getattr(self.view, "filterset_class", None)
        names = set(filterset.base_filters) if filterset is not None else set()
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in names:
                parameter["allowEmptyValue"] = True

    def _anonymous_may_call(self) -> bool:
        if self.method not in permissions.SAFE_METHODS:
            return False
        found = self.view.get_permissions()
        return bool(found) and all(getattr(permission, "allows_anonymous_reads", False) for permission in found)

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, OpenApiResponse]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation or self.method in BODY_METHODS
        errors: dict[str, OpenApiResponse] = {}
        if has_body or any(parameter["in"] in ("query", "header") for parameter in parameters):
            errors["400"] = BAD_REQUEST
        if operation.get("security") or isinstance(self.view, TokenViewBase):
            errors["401"] = UNAUTHENTICATED
        if any(parameter["in"] == "path" for parameter in parameters) or self._is_paginated_list():
            errors["404"] = NOT_FOUND
        if has_body:
            errors["413"] = TOO_LARGE
            errors["415"] = UNSUPPORTED_MEDIA_TYPE
        if any(parameter["in"] == "header" and parameter["name"] == "Idempotency-Key" for parameter in parameters):
            errors["422"] = IDEMPOTENCY_KEY_REUSED
        if self.view.get_throttles():
            errors["429"] = THROTTLED
        errors["503"] = UNAVAILABLE
        return errors

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
