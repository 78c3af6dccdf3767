"""Who may see which escalation: the one visibility rule, as a queryset method.

``Escalation.objects.visible_to(principal)``: people who may see every escalation (administrators,
compliance officers, auditors: ``accounts.view_audit_logs`` or
``escalations.view_all_escalations``) see all; any other person sees those assigned to them
(guardian object permission ``escalations.view_escalation``); agents and anonymous callers none.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from guardian.shortcuts import get_objects_for_user

from apps.accounts.principals import is_person

SEE_ALL_ESCALATIONS = ("accounts.view_audit_logs", "escalations.view_all_escalations")
VIEW_ESCALATION = "escalations.view_escalation"


def sees_every_escalation(principal: Any) -> bool:
    return is_person(principal) and any(principal.has_perm(p) for p in SEE_ALL_ESCALATIONS)


class EscalationQuerySet(models.QuerySet):
    def visible_to(self, principal: Any) -> EscalationQuerySet:
        """The escalations ``principal`` may see (module docstring)."""
        if not is_person(principal):
            return self.none()
        if sees_every_escalation(principal):
            return self
        return get_objects_for_user(
            principal, VIEW_ESCALATION, klass=self, accept_global_perms=False
        )
