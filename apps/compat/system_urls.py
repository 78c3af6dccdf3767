from django.urls import path

from apps.compat import ledger, system

urlpatterns = [
    path("storage/stats", system.StorageStatsApi.as_view(), name="compat-storage-stats"),
    path("ledger/report", ledger.LedgerReportApi.as_view(), name="compat-ledger-report"),
    path("dashboard", system.dashboard, name="compat-dashboard"),
    path("dashboard/governance", system.dashboard, name="compat-dashboard-governance"),
]
