"""Mounted before ``apps.compliance.api.urls`` (see ``apps.compat.euaiact.urls``)."""

from apps.compat.euaiact.urls import signature_urlpatterns as urlpatterns

__all__ = ["urlpatterns"]
