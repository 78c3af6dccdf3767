"""Writes of human oversight: escalations, assignments, resolutions, SLA expiry, overrides, stops.

Rules every function here keeps (docs/oversight.md, ADR 0005):
- Authorization first, validation next, then ONE transaction that changes the rows and appends the
  ledger entry; a refused request writes nothing (no row, no ledger entry).
- Read-modify-write takes the escalation row lock (``SELECT … FOR NO KEY UPDATE``) before checking
  its status, so two reviewers acting at once serialise and exactly one wins; the other gets 409.
  Lock order: escalation row → ledger chain head (inside ``ledger_append``). On SQLite the
  ``BEGIN IMMEDIATE`` transaction already serialises writers.
- Human free text (notes, justifications, reasons) is stored on our rows; the ledger holds only its
  salted commitment. Actors appear in the ledger as pseudonymous ``user:<id>`` labels.
- E-mails are sent after commit (``transaction.on_commit``) by the ``escalations.notify`` task.
"""

from apps.escalations.services.approvals import ResolveResult, escalation_resolve
from apps.escalations.services.common import TRANSITIONS, escalation_transition, sla_for
from apps.escalations.services.erasure import (
    oversight_changed_since,
    oversight_decision_ids,
    oversight_texts_erase,
)
from apps.escalations.services.lifecycle import (
    escalation_acknowledge,
    escalation_assign,
    escalation_check_sla,
    escalation_create,
    escalation_expire,
    escalation_notification_send,
    escalation_open_automatic,
    escalation_sla_warn,
)
from apps.escalations.services.overrides import PERMISSIVE_OVERRIDE_TYPES, override_execute
from apps.escalations.services.stops import agent_stop

__all__ = [
    "PERMISSIVE_OVERRIDE_TYPES",
    "TRANSITIONS",
    "ResolveResult",
    "agent_stop",
    "escalation_acknowledge",
    "escalation_assign",
    "escalation_check_sla",
    "escalation_create",
    "escalation_expire",
    "escalation_notification_send",
    "escalation_open_automatic",
    "escalation_resolve",
    "escalation_sla_warn",
    "escalation_transition",
    "override_execute",
    "oversight_changed_since",
    "oversight_decision_ids",
    "oversight_texts_erase",
    "sla_for",
]
