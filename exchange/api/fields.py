"""Decimals as plain strings (no exponent, no trailing zeros) in every API response."""
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def decimal_str(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "0.01"})
class DecimalString(serializers.Field):
    """Reads a decimal given as a string; writes ``format(normalize(), 'f')``."""

    def to_representation(self, value):
        return decimal_str(value)

    def to_internal_value(self, data):
        # Parsing and all checks happen in the services (exchange.amounts), with clear codes.
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("must be a decimal string")
        return str(data)


class LowerChoiceField(serializers.ChoiceField):
    """A choice given in any case (``GTC``, ``Buy``), read as its lower-case form: clients
    written for other venues send upper case, and refusing them over case helps no one."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().lower()
        return super().to_internal_value(data)
