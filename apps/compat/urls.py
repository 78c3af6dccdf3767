"""The original Lexecon's routes that have no native twin (docs/compat.md, route by route).

Routes the original shares with us (``/health``, ``/status``, ``/decide``, ``/ledger/...``,
``/policies``) are answered by the native views, which add the original's fields; this module holds
only the original's own paths. Each area keeps its routes in its own module.
"""

from django.urls import include, path

urlpatterns: list = [
    # path("", include("apps.compat.<area>.urls")),  one line per area, in the order of docs/compat.md
    path("", include("apps.compat.euaiact.urls")),
    path("", include("apps.compat.responsibility.urls")),
    path("", include("apps.compat.governance.urls")),
]

__all__ = ["include", "path", "urlpatterns"]
