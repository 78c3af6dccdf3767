"""``manage.py check --deploy`` findings of our own (registered in ``CoreConfig.ready``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def trusted_proxies_behind_a_proxy(app_configs, **kwargs) -> list[Warning]:
    """Behind a proxy without ``LEXECON_TRUSTED_PROXIES`` every client has the proxy's address: the
    per-address rate limit and the lockout's address ceiling would then hold everyone at once."""
    if (
        settings.LEXECON_RATE_LIMIT_ENABLED
        and getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        and not settings.LEXECON_TRUSTED_PROXIES
    ):
        return [
            Warning(
                "LEXECON_BEHIND_PROXY is on but LEXECON_TRUSTED_PROXIES is empty: every client "
                "counts as the proxy's address, so one address budget and one sign-in ceiling "
                "would hold all of them.",
                hint="Set LEXECON_TRUSTED_PROXIES to the proxies' addresses (docs/configuration.md).",
                id="lexecon.W001",
            )
        ]
    return []
