"""Faults injected after a decision has committed, for the live tests of unconfirmed answers.

Loaded as the outermost middleware only when the test gunicorn runs with
``LEXECON_TEST_FAILPOINTS=1`` (lexecon_site/settings/test.py). A ``/decide`` request carrying
``X-Test-Failpoint`` gets, once the application has made its answer (the decision and its ledger
entry are committed by then):

- ``kill``: the worker kills itself with SIGKILL, so the answer is never sent;
- ``raise``: an exception, which Django turns into a 500 instead of the decision's answer;
- ``sever``: the same, after the worker's PostgreSQL session has been terminated, so that the
  mark has to be written on another connection.
"""

from __future__ import annotations

import os
import signal
import time

import psycopg
from django.db import connection


class Failpoints:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        failpoint = request.META.get("HTTP_X_TEST_FAILPOINT")
        if request.path != "/decide" or not failpoint:
            return response
        if failpoint == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if failpoint == "sever":
            _terminate_own_session()
        if failpoint in ("raise", "sever"):
            raise RuntimeError("failpoint: an error after the decision committed")
        return response


def _terminate_own_session() -> None:
    """Terminate this worker's database session from another one and wait until it has gone."""
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.02)
