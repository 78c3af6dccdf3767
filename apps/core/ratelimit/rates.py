"""A rate: at most ``limit`` requests per ``seconds``; written ``"N/S"``, or ``"off"`` for none."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9})\s*$")
OFF = "off"


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.seconds}"


@functools.lru_cache(maxsize=1024)
def parse_rate(text: str) -> Rate | None:
    """``"1000/3600"`` → ``Rate(1000, 3600)``; ``"off"`` → None (no limit).

    Raises ``ValueError`` for anything else, including a zero limit or window: refusing every
    request is what revoking a key or an account is for.
    """
    if text.strip().lower() == OFF:
        return None
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"a rate is 'N/S' (N requests per S seconds) or 'off', not {text!r}")
    limit, seconds = int(match[1]), int(match[2])
    if limit < 1 or seconds < 1:
        raise ValueError(f"a rate needs at least 1 request per at least 1 second, not {text!r}")
    return Rate(limit, seconds)


def validate_rate(text: str) -> None:
    """Model and form validator: blank means "the default"; anything else must parse."""
    if text:
        try:
            parse_rate(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
