"""``/api/governance/*`` (docs/compat.md, "1.8 Governance API"). Fixed segments come before the
``<str:...>`` patterns they would otherwise be taken for (the original's shadowing bug)."""

from django.urls import path

from apps.compat.governance import views

P = "api/governance/"
C = f"{P}compliance/"

urlpatterns = [
    path(f"{P}risk/assess", views.RiskAssessView.as_view(), name="compat-risk-assess"),
    path(
        f"{P}risk/decision/<str:decision_id>",
        views.RiskByDecisionView.as_view(),
        name="compat-risk-by-decision",
    ),
    path(f"{P}risk/<str:risk_id>", views.RiskDetailView.as_view(), name="compat-risk-detail"),
    path(f"{P}escalation", views.EscalationCreateView.as_view(), name="compat-escalation-create"),
    path(
        f"{P}escalation/sla/violations",
        views.EscalationSlaViolationsView.as_view(),
        name="compat-escalation-sla",
    ),
    path(
        f"{P}escalation/decision/<str:decision_id>",
        views.EscalationByDecisionView.as_view(),
        name="compat-escalation-by-decision",
    ),
    path(
        f"{P}escalation/<str:escalation_id>/resolve",
        views.EscalationResolveView.as_view(),
        name="compat-escalation-resolve",
    ),
    path(
        f"{P}escalation/<str:escalation_id>",
        views.EscalationDetailView.as_view(),
        name="compat-escalation-detail",
    ),
    path(f"{P}override", views.OverrideCreateView.as_view(), name="compat-override-create"),
    path(
        f"{P}override/decision/<str:decision_id>/active",
        views.OverrideActiveView.as_view(),
        name="compat-override-active",
    ),
    path(
        f"{P}override/decision/<str:decision_id>/status",
        views.OverrideStatusView.as_view(),
        name="compat-override-status",
    ),
    path(
        f"{P}override/decision/<str:decision_id>",
        views.OverrideByDecisionView.as_view(),
        name="compat-override-by-decision",
    ),
    path(
        f"{P}override/<str:override_id>",
        views.OverrideDetailView.as_view(),
        name="compat-override-detail",
    ),
    path(f"{P}evidence", views.EvidenceStoreView.as_view(), name="compat-evidence-store"),
    path(
        f"{P}evidence/statistics",
        views.EvidenceStatisticsView.as_view(),
        name="compat-evidence-statistics",
    ),
    path(
        f"{P}evidence/decision/<str:decision_id>",
        views.EvidenceByDecisionView.as_view(),
        name="compat-evidence-by-decision",
    ),
    path(
        f"{P}evidence/<str:artifact_id>/verify",
        views.EvidenceVerifyView.as_view(),
        name="compat-evidence-verify",
    ),
    path(
        f"{P}evidence/<str:artifact_id>/sign",
        views.EvidenceSignView.as_view(),
        name="compat-evidence-sign",
    ),
    path(
        f"{P}evidence/<str:artifact_id>/lineage",
        views.EvidenceLineageView.as_view(),
        name="compat-evidence-lineage",
    ),
    path(
        f"{P}evidence/<str:artifact_id>",
        views.EvidenceDetailView.as_view(),
        name="compat-evidence-detail",
    ),
    path(
        f"{C}statistics",
        views.ComplianceStatisticsView.as_view(),
        name="compat-compliance-statistics",
    ),
    path(f"{C}map", views.ComplianceMapView.as_view(), name="compat-compliance-map"),
    path(
        f"{C}primitive/<str:primitive_id>/mappings",
        views.PrimitiveMappingsView.as_view(),
        name="compat-compliance-primitive-mappings",
    ),
    path(
        f"{C}<str:framework>/controls",
        views.ControlsView.as_view(),
        name="compat-compliance-controls",
    ),
    path(f"{C}<str:framework>/gaps", views.GapsView.as_view(), name="compat-compliance-gaps"),
    path(f"{C}<str:framework>/report", views.ReportView.as_view(), name="compat-compliance-report"),
    path(
        f"{C}<str:framework>/coverage",
        views.CoverageView.as_view(),
        name="compat-compliance-coverage",
    ),
    path(
        f"{C}<str:framework>/<str:control_id>/verify",
        views.ControlVerifyView.as_view(),
        name="compat-compliance-verify",
    ),
    path(
        f"{C}<str:framework>/<str:control_id>/link-evidence",
        views.ControlLinkEvidenceView.as_view(),
        name="compat-compliance-link-evidence",
    ),
    path(
        f"{C}<str:framework>/<str:control_id>",
        views.ControlDetailView.as_view(),
        name="compat-compliance-control",
    ),
]
