"""Erasure of decisions' personal data (EU AI Act Art. 12/19 record-keeping, ADR 0021).

Part of the decisions data layer. Only the retention sweep (``apps.retention``) calls these,
inside its batch transactions, for decisions past their retention class's period and under no
legal hold. IRREVERSIBLE: the context and its salt are gone, and without them the ledger's
``context_commitment`` can no longer be opened or guessed; the ledger entry is untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from apps.decisions.models import Decision, ResponsibilityRecord


def decisions_anonymise(*, decisions: QuerySet[Decision], now: datetime) -> int:
    """Erase the context and its salt of these decisions (those not yet anonymised) and stamp
    ``anonymised_at``; the number of decisions changed."""
    return decisions.filter(anonymised_at__isnull=True).update(
        context=None, context_salt="", anonymised_at=now
    )


def responsibility_reasons_erase(*, decision_ids: list[Any]) -> int:
    """Blank the words of people (and agents) in these decisions' responsibility records; the
    engine's record and the SLA expiry's keep the machine's words."""
    return (
        ResponsibilityRecord.objects.filter(decision_id__in=decision_ids)
        .exclude(kind=ResponsibilityRecord.Kind.DECISION)
        .exclude(actor_kind=ResponsibilityRecord.ActorKind.SYSTEM)
        .exclude(reason="")
        .update(reason="")
    )
