"""Who may see which decision: the one visibility rule, as a queryset method.

``Decision.objects.visible_to(principal)`` is the only way the API, the oversight pages, the selectors
and the admin read decisions (docs/architecture.md, "Visibility"):

- an agent key sees the decisions made with that key;
- a person who may see every escalation or override decisions (administrators, compliance
  officers, auditors: ``accounts.view_audit_logs``, ``accounts.execute_override`` or
  ``escalations.view_all_escalations``) sees every decision;
- any other person (a reviewer) sees only the decisions whose escalation is assigned to them
  (guardian object permission ``escalations.view_escalation``);
- anyone else sees nothing.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from guardian.shortcuts import get_objects_for_user

from apps.accounts.principals import AgentPrincipal, is_person

SEE_ALL_DECISIONS = (
    "accounts.view_audit_logs",
    "accounts.execute_override",
    "escalations.view_all_escalations",
)
VIEW_ESCALATION = "escalations.view_escalation"


def sees_every_decision(principal: Any) -> bool:
    return is_person(principal) and any(principal.has_perm(p) for p in SEE_ALL_DECISIONS)


class DecisionQuerySet(models.QuerySet):
    def visible_to(self, principal: Any) -> DecisionQuerySet:
        """The decisions ``principal`` may see (module docstring)."""
        if isinstance(principal, AgentPrincipal):
            return self.filter(agent_key_id=principal.key_id)
        if not is_person(principal):
            return self.none()
        if sees_every_decision(principal):
            return self
        # Escalations are a later app: looked up by label, not imported (docs/architecture.md).
        escalations = get_objects_for_user(
            principal,
            VIEW_ESCALATION,
            klass=apps.get_model("escalations", "Escalation"),
            accept_global_perms=False,
        )
        return self.filter(escalation__in=escalations.values("pk"))


class ResponsibilityRecordQuerySet(models.QuerySet):
    def visible_to(self, principal: Any) -> ResponsibilityRecordQuerySet:
        """The records of the decisions ``principal`` may see."""
        from_model = self.model._meta.get_field("decision").related_model
        return self.filter(decision__in=from_model.objects.visible_to(principal).values("pk"))
