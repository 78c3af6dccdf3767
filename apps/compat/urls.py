"""The original Lexecon's routes that have no native twin (docs/compat.md, route by route).

Routes the original shares with us (``/health``, ``/status``, ``/decide``, ``/ledger/...``,
``/policies``) are answered by the native views, which add the original's fields; this module holds
only the original's own paths. Each area keeps its routes in its own module.
"""

from django.urls import include, path

urlpatterns: list = [
    # path("", include("apps.compat.<area>.urls")),  one line per area, in the order of docs/compat.md
    path("", include("apps.compat.system_urls")),  # 1.1 System, /ledger/report (1.3)
    path("", include("apps.compat.auth.urls")),  # 1.7 Auth
    path("", include("apps.compat.audit_urls")),  # 1.9 Dashboard API v1
]

__all__ = ["include", "path", "urlpatterns"]
