"""The original's EU AI Act paths that have no native twin (docs/compat.md, "1.4 EU AI Act"),
and the packet's signature routes ("1.5 Signatures").

``compliance/verify-signature`` and ``compliance/public-key`` would be taken by the native
``compliance/<framework>`` (``apps.compliance.api.urls``) if mounted after it, so
``signature_urlpatterns`` is included before it in ``lexecon_site/urls.py``.
"""

from django.urls import path

from apps.compat.euaiact import article14, views

A14 = "compliance/eu-ai-act/article-14/"

urlpatterns = [
    path(f"{A14}verify", article14.VerifyView.as_view(), name="compat-article-14-verify"),
    path(
        f"{A14}evidence-package",
        article14.EvidencePackageView.as_view(),
        name="compat-article-14-evidence-package",
    ),
    path(
        f"{A14}escalation", article14.EscalationView.as_view(), name="compat-article-14-escalation"
    ),
    path(
        f"{A14}storage/stats",
        article14.StorageStatsView.as_view(),
        name="compat-article-14-storage-stats",
    ),
    path(
        "compliance/eu-ai-act/article-11",
        views.Article11View.as_view(),
        name="compat-eu-ai-act-article-11",
    ),
    path(
        "compliance/eu-ai-act/audit-packet",
        views.AuditPacketView.as_view(),
        name="compat-eu-ai-act-audit-packet",
    ),
]

signature_urlpatterns = [
    path(
        "compliance/verify-signature",
        views.VerifySignatureView.as_view(),
        name="compat-verify-signature",
    ),
    path("compliance/public-key", views.PublicKeyView.as_view(), name="compat-public-key"),
]
