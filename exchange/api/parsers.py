"""The API's JSON parser: strict, bounded, and without recursion on hostile input.

Python's ``json`` parses nested arrays recursively: a body of 100,000 ``[`` raised
``RecursionError`` inside DRF's parser, which nothing turned into a 400. This parser measures
the nesting depth first with a flat scan (strings blanked out, then a running count of brackets)
and refuses anything deeper than ``EXCHANGE_API_MAX_JSON_DEPTH`` before the real parse starts.
It also refuses what is not JSON at all but Python's parser accepts (``NaN``, ``Infinity``),
bodies that are not UTF-8, and NUL characters in any string (PostgreSQL cannot store them).
Numbers with a fraction or an exponent are parsed as ``Decimal``, never ``float``.
"""
import json
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A JSON string, with its escapes; possessive, so a long string cannot make the regex backtrack.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_OPENERS = frozenset(b"[{")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether ``raw`` nests arrays and objects deeper than ``limit``, found without recursion."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # cannot be deeper than it has openers: the common case costs two counts
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        if match.group()[0] in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, ArithmeticError):
        raise ValueError(f"number {text[:20]!r} is out of range") from None


def _has_nul(value: object) -> bool:
    """Whether any string (key or value) in the parsed document holds a NUL, walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_loads_strict(raw: bytes) -> object:
    """Parse an API body, or raise ``ValueError`` with a message fit for the client."""
    limit = settings.EXCHANGE_API_MAX_JSON_DEPTH
    if json_depth_exceeds(raw, limit):
        raise ValueError(f"JSON nested deeper than {limit} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_decimal)
    except RecursionError:  # belt and braces: the depth scan should make this unreachable
        raise ValueError("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at position {exc.pos}") from None
    if _has_nul(data):
        raise ValueError("strings may not contain NUL characters")
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the limits above; every refusal is a 400 ``malformed_request``."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return json_loads_strict(raw)
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
