"""Faults injected after a decision has committed, for the live tests of unconfirmed answers.

Loaded as the outermost middleware only when the test gunicorn runs with
``LEXECON_TEST_FAILPOINTS=1`` (lexecon_site/settings/test.py). A ``/decide`` request carrying
``X-Test-Failpoint`` gets, once the application has made its answer (the decision and its ledger
entry are committed by then):

- ``kill``: the worker kills itself with SIGKILL, so the answer is never sent;
- ``raise``: an exception, which Django turns into a 500 instead of the decision's answer.
"""

from __future__ import annotations

import os
import signal


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
        if failpoint == "raise":
            raise RuntimeError("failpoint: an error after the decision committed")
        return response
