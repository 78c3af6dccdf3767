"""Request-scoped context for structured logs: every record carries the current request id."""

from __future__ import annotations

import contextvars
import logging
import time

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class UtcJsonFormatter(JsonFormatter):
    """One JSON object per record, its time in UTC whatever the host's zone (ASVS 16.2.2). Values
    are JSON-escaped, so a CR, LF or ANSI code in a user name cannot start a forged record."""

    converter = time.gmtime


security_logger = logging.getLogger("lexecon.security")
