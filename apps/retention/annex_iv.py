"""Our part of the Annex IV technical documentation (seam 1, ``apps.techdoc.annex_iv``): the
record-keeping and logging facts of item 3 ("monitoring, functioning and control") for one AI
system over a window, from live data.

:func:`record_keeping_part` builds the part as a plain dict (tested here); :func:`provider` wraps
it in techdoc's ``SectionPart``. ``RetentionConfig.ready()`` calls :func:`register` only when
``apps.techdoc`` is installed, so this module imports techdoc only then.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from apps.core.retention import RetentionClass, decision_retention_class, retention_days
from apps.decisions.models import Decision
from apps.retention import holds as hold_rules
from apps.retention.models import RetentionRun
from apps.retention.selectors import iso, ledger_state

ITEM = 3
KEY = "retention.record_keeping"
TITLE = "Record-keeping and logs (Art. 12, 19)"


def record_keeping_part(ai_system: Any, window: Any) -> dict[str, Any]:
    """``{title, facts, text, missing}`` for ``ai_system`` (an ``AISystem``) over ``window``
    (``start``, ``end``)."""
    system_id = str(ai_system.pk)
    in_window = Decision.objects.filter(
        ai_system=system_id, created_at__gte=window.start, created_at__lte=window.end
    ).order_by()
    counts = {
        row["retention_class"]: row
        for row in in_window.values("retention_class").annotate(
            logged=Count("pk"), anonymised=Count("pk", filter=Q(anonymised_at__isnull=False))
        )
    }
    # The class a decision of this system gets today (before any personal-data class).
    today = decision_retention_class(ai_system_risk_class=ai_system.risk_class, data_classes=())
    holds = [
        hold
        for hold in hold_rules.active_holds()
        if hold.ai_system == system_id
        or (
            hold.scope != "ai_system"
            and Decision.objects.filter(ai_system=system_id)
            .filter(hold_rules.decisions_q([hold]) or Q())
            .exists()
        )
    ]
    last = RetentionRun.objects.filter(status=RetentionRun.Status.COMPLETED).first()
    ledger = ledger_state()
    verification = ledger["verification"]
    facts = {
        "decisions_logged_in_window": sum(row["logged"] for row in counts.values()),
        "decisions_by_retention_class": {
            name: int(counts.get(name, {}).get("logged", 0)) for name in RetentionClass.values
        },
        "decisions_anonymised_in_window": sum(row["anonymised"] for row in counts.values()),
        "retention_class_of_new_decisions": today,
        "retention_days": {name: retention_days(name) for name in RetentionClass.values},
        "legal_holds_in_force": len(holds),
        "last_completed_sweep": iso(last.finished_at) if last else None,
        "last_sweep_ledger_entry": last.ledger_seq if last else None,
        "ledger_entries": ledger["size"],
        "ledger_last_verified": verification["finished_at"] if verification else None,
        "ledger_valid": verification["valid"] if verification else None,
        "latest_checkpoint_tree_size": (
            ledger["latest_checkpoint"]["tree_size"] if ledger["latest_checkpoint"] else None
        ),
    }
    missing = []
    if verification is None:
        missing.append("a recorded full verification of the ledger (manage.py verify_ledger)")
    elif not verification["valid"]:
        missing.append("a valid ledger: the latest full verification found it broken")
    if ledger["latest_checkpoint"] is None:
        missing.append("a signed ledger checkpoint (manage.py ledger_checkpoint)")
    if last is None:
        missing.append("a completed retention sweep (manage.py retention_sweep)")
    text = (
        f"Every decision of {system_id} is one entry of the hash-chained ledger (Merkle tree, "
        "signed checkpoints), with its request, outcome, rules, policy version and risk in clear "
        "and its context only as a salted commitment. Decisions get a retention class when they "
        f"are written; new decisions of this system are '{today}' "
        f"({retention_days(today)} days). Past it, the daily sweep erases the context, its salt "
        "and the words people wrote, unless a legal hold keeps them; the ledger keeps every "
        "commitment, so the chain still verifies."
    )
    return {"title": TITLE, "facts": facts, "text": text, "missing": tuple(missing)}


def provider(ai_system: Any, window: Any) -> Any:
    """The seam-1 provider: :func:`record_keeping_part` as techdoc's ``SectionPart``."""
    from apps.techdoc.annex_iv import SectionPart  # only imported when techdoc is installed

    return SectionPart(**record_keeping_part(ai_system, window))


def register() -> None:
    from apps.techdoc.annex_iv import register_provider

    register_provider(ITEM, provider, key=KEY)
