"""Who may see which evidence artifact: one rule, as a queryset method (docs/architecture.md).

- an agent key sees the artifacts it registered and those linked to decisions it may see
  (``Decision.objects.visible_to``);
- a person who exports evidence or sees every decision (``accounts.export_evidence`` or the
  see-everything permissions of the decisions rule) sees every artifact;
- any other person (a reviewer) sees the artifacts linked to the decisions they may see;
- anyone else sees nothing. What you may not see answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.accounts.principals import AgentPrincipal, is_person
from apps.decisions.models import Decision
from apps.decisions.querysets import sees_every_decision

EXPORT_EVIDENCE = "accounts.export_evidence"


def sees_every_artifact(principal: Any) -> bool:
    return is_person(principal) and (
        principal.has_perm(EXPORT_EVIDENCE) or sees_every_decision(principal)
    )


class EvidenceArtifactQuerySet(models.QuerySet):
    def visible_to(self, principal: Any) -> EvidenceArtifactQuerySet:
        """The artifacts ``principal`` may see (module docstring)."""
        linked_to_visible = models.Q(
            decision_links__decision__in=Decision.objects.visible_to(principal).values("pk")
        )
        if isinstance(principal, AgentPrincipal):
            own = models.Q(registered_by_key_id=principal.key_id)
            ids = self.filter(own | linked_to_visible).values("pk")
            return self.filter(pk__in=ids)
        if not is_person(principal):
            return self.none()
        if sees_every_artifact(principal):
            return self
        return self.filter(pk__in=self.filter(linked_to_visible).values("pk"))
