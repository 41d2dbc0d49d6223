"""Decimals as plain strings (no exponent, no trailing zeros) in every API response."""
import re
from decimal import Decimal
from typing import overload

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


@overload
def decimal_str(value: Decimal) -> str: ...
@overload
def decimal_str(value: Decimal | None) -> str | None: ...
def decimal_str(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


class DecimalString(serializers.Field):
    """Reads a decimal given as a string; writes ``format(normalize(), 'f')``."""

    def to_representation(self, value):
        return decimal_str(value)

    def to_internal_value(self, data):
        # Parsing and all checks happen in the services (exchange.amounts), with clear codes.
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("must be a decimal string")
        return str(data)


class DecimalStringSchema(OpenApiSerializerFieldExtension):
    """A request may send a decimal as a string or an integer (``to_internal_value``); a
    response always has a string. The schema says both, so that a schema-driven client or
    fuzzer knows an integer amount is valid input."""

    target_class = "exchange.api.fields.DecimalString"

    def map_serializer_field(self, auto_schema, direction):
        text = {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "0.01"}
        if direction == "response":
            return text
        return {"anyOf": [text, {"type": "integer"}]}


class StrictBooleanField(serializers.BooleanField):
    """true or false as JSON booleans only: DRF's ``BooleanField`` also reads 0, 1, "yes", "off"
    and more, none of which the schema allows."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictCharField(serializers.CharField):
    """Text that must be sent as a JSON string: DRF's ``CharField`` turns ``0`` into ``"0"``,
    which the schema (and a client comparing ids) says is not the same thing."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class LowerChoiceField(serializers.ChoiceField):
    """A choice given in any case (``GTC``, ``Buy``), read as its lower-case form: clients
    written for other venues send upper case, and refusing them over case helps no one."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.lower()
        return super().to_internal_value(data)


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


class LowerChoiceFieldSchema(OpenApiSerializerFieldExtension):
    """In the schema, a request's choice is any case of one of the choices (a pattern, since
    OpenAPI's enum is case-sensitive: a schema-driven client or fuzzer must see "FOK" as valid);
    a response's is the lower-case enum."""

    target_class = "exchange.api.fields.LowerChoiceField"

    def map_serializer_field(self, auto_schema, direction):
        choices = [str(c) for c in self.target.choices]
        if direction == "response":
            return {"type": "string", "enum": choices}
        return {"type": "string", "pattern": "^(" + "|".join(_any_case(c) for c in choices) + ")$",
                "example": choices[0], "description": f"one of {', '.join(choices)}, in any case"}
