"""Strict JSON bodies: valid UTF-8, no duplicate keys, no NaN/Infinity, integers within
+-(2**53 - 1), bounded nesting.

Python's ``json`` accepts duplicate keys (last wins), ``NaN`` and lone surrogates; each of those can
make two readers of one body disagree or make the database refuse a value later (a 500). They are
rejected here as ``400 malformed_request``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class _Reject(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Reject(f"duplicate key {key!r}")
        result[key] = value
    return result


_MAX_SAFE_INTEGER = 2**53 - 1


def _integer(text: str) -> int:
    """I-JSON (RFC 7493): integers must be exact as IEEE 754 doubles, which RFC 8785 also needs
    for every hash and signature we compute over request data."""
    value = int(text)
    if not -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        raise _Reject(f"integer {text[:40]} is outside +-(2**53 - 1)")
    return value


def _float(text: str) -> float:
    """Same bound for numbers written with a fraction or exponent: beyond it PostgreSQL's jsonb
    would hand back an integer JCS refuses (1e300 returns as 1000…0), so a stored value could no
    longer be checked against its ledger commitment."""
    value = float(text)
    if not -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:  # also inf (1e400) and overflow
        raise _Reject(f"number {text[:40]} is outside +-(2**53 - 1)")
    return value


def _constant(name: str) -> Any:
    raise _Reject(f"{name} is not valid JSON")


def _check(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _Reject(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Reject("strings must be valid Unicode (no lone surrogates)") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def loads_strict(data: bytes) -> Any:
    """Parse a request body strictly; raises ``ParseError`` with a precise message."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("The body is not valid UTF-8.") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
        )
        _check(value)
    except _Reject as exc:
        raise ParseError(f"Malformed JSON: {exc}.") from exc
    except RecursionError as exc:
        raise ParseError(f"Malformed JSON: nesting deeper than {MAX_DEPTH}.") from exc
    except ValueError as exc:
        raise ParseError(f"Malformed JSON: {exc}.") from exc
    return value


class StrictJSONParser(JSONParser):
    """DRF parser using :func:`loads_strict`, with the body-size limit enforced while reading."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(data) > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        return loads_strict(data)
