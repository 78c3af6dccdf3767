"""Request rate limits (RELIABILITY T28, ADR 0025).

- :mod:`.rates` parses ``"N/S"`` (N requests per S seconds) and ``"off"``;
- :mod:`.stores` counts: a fixed-window counter per key, atomically in Redis (one Lua script,
  one round trip) or in this process's memory;
- :mod:`.limiter` applies budgets (``decide``, ``api``, ``staff``, ``ip``, ``login``) through a
  store, with the fail mode of each budget while the store is unreachable;
- :mod:`.charges` says which budgets a request draws on and counts them;
- :mod:`.client_ip` finds the client address (``REMOTE_ADDR``, or ``X-Forwarded-For`` when the
  peer is one of ``LEXECON_TRUSTED_PROXIES``);
- :mod:`.middleware` limits every view that is not a DRF view called with an agent key and puts
  the ``X-RateLimit-*`` headers on every limited answer; :mod:`.throttle` limits agent keys inside
  DRF, after authentication has resolved the key.

This package imports nothing at import time that needs settings, so ``env.py`` and settings may
not be the ones importing it.
"""
