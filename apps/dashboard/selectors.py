"""The dashboard's figures: exact definitions are in docs/dashboard.md, one function per panel.

Decision counts come from the hourly roll-up (``models``) plus the live tail (decisions past the
roll-up's cursor, counted with the same ``services.count_rows``), so a 30-day window reads a few
thousand roll-up rows whatever the number of decisions. Everything else is read through the owning
app's selectors (compliance statuses, incident clocks, Annex IV gaps, the ledger's state): the
dashboard shows their figures and never recomputes them.
"""

from __future__ import annotations

import statistics as stats
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from apps.accounts.models import AgentKey
from apps.aisystems import selectors as registry
from apps.aisystems.models import AISystemChange
from apps.compliance import selectors as compliance
from apps.compliance.rules import STATUSES
from apps.dashboard.models import NO_AGENT_KEY, DecisionHour, RiskFactorHour, RollupCursor
from apps.dashboard.services import DECISION_FIELDS, HIGH_RISK_LEVELS, count_rows, hour_of
from apps.decisions.models import Decision, Outcome
from apps.escalations import selectors as escalations
from apps.escalations.models import AgentStop, Escalation, Override
from apps.incidents import selectors as incidents
from apps.ledger import selectors as ledger
from apps.ledger.models import VerificationRun
from apps.techdoc import selectors as techdoc
from apps.techdoc.models import Narrative

OUTCOMES = (Outcome.ALLOWED.value, Outcome.DENIED.value, Outcome.ESCALATED.value)
RISK_LEVELS = ("low", "medium", "high", "critical")
#: The windows offered, in days, and the bucket each starts with.
WINDOWS = {"24h": (1, "hour"), "7d": (7, "day"), "30d": (30, "day"), "90d": (90, "week")}
DEFAULT_WINDOW = "30d"
BUCKETS = ("hour", "day", "week")
#: Hour buckets are offered up to this window (beyond it a chart would have thousands of bars).
MAX_HOUR_BUCKET_DAYS = 7
TOP_FACTORS = 5
LATEST_ROWS = 10
SLA_STATES = escalations.SLA_STATES
OPEN_STATUSES = (Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED)


@dataclass(frozen=True)
class Filters:
    """The chosen window (``[start, end)``, whole UTC hours) and the optional filters."""

    start: datetime
    end: datetime
    bucket: str
    window: str = DEFAULT_WINDOW
    ai_system: str = ""
    agent_key: str | None = None

    @property
    def previous(self) -> Filters:
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)


def filters_for(
    *,
    window: str = DEFAULT_WINDOW,
    bucket: str | None = None,
    ai_system: str = "",
    agent_key: str | None = None,
    now: datetime | None = None,
) -> Filters:
    """The window ending with the current hour (included) and as many whole hours before it."""
    days, default_bucket = WINDOWS[window]
    end = hour_of(now or timezone.now()) + timedelta(hours=1)
    return Filters(
        start=end - timedelta(days=days),
        end=end,
        bucket=bucket or default_bucket,
        window=window,
        ai_system=ai_system,
        agent_key=agent_key,
    )


# --- Decisions: roll-up + live tail ---------------------------------------------------------------


def _rollup_filter(f: Filters) -> Q:
    q = Q(hour__gte=f.start, hour__lt=f.end)
    if f.ai_system:
        q &= Q(ai_system=f.ai_system)
    if f.agent_key is not None:
        q &= Q(agent_key=f.agent_key)
    return q


@dataclass
class Tail:
    """Decisions past the roll-up's cursor, counted like the roll-up counts them."""

    hours: Counter[Any] = field(default_factory=Counter)
    factors: Counter[Any] = field(default_factory=Counter)
    size: int = 0

    def matching(self, counter: Counter[Any], f: Filters) -> list[tuple[tuple[Any, ...], int]]:
        return [
            (key, n)
            for key, n in counter.items()
            if f.start <= key[0] < f.end
            and (not f.ai_system or key[3] == f.ai_system)
            and (f.agent_key is None or key[4] == f.agent_key)
        ]


def live_tail(since: datetime) -> Tail:
    cursor = RollupCursor.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    rows = list(
        Decision.objects.filter(
            ledger_seq__gt=-1 if cursor is None else cursor, created_at__gte=since
        )
        .order_by()
        .values_list(*DECISION_FIELDS)
    )
    hours, factors = count_rows(rows)
    return Tail(hours=hours, factors=factors, size=len(rows))


def bucket_start(moment: datetime, bucket: str) -> datetime:
    hour = hour_of(moment)
    if bucket == "hour":
        return hour
    day = hour.replace(hour=0)
    if bucket == "day":
        return day
    return day - timedelta(days=day.weekday())  # ISO weeks start on Monday


def _bucket_starts(f: Filters) -> list[datetime]:
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
    starts, moment = [], bucket_start(f.start, f.bucket)
    while moment < f.end:
        starts.append(moment)
        moment += step[f.bucket]
    return starts


def outcome_totals(f: Filters, tail: Tail) -> dict[str, int]:
    totals = dict.fromkeys(OUTCOMES, 0)
    for outcome, n in (
        DecisionHour.objects.filter(_rollup_filter(f))
        .values_list("outcome")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        totals[outcome] = totals.get(outcome, 0) + int(n)
    for key, n in tail.matching(tail.hours, f):
        totals[key[1]] = totals.get(key[1], 0) + n
    return totals


def _rates(totals: dict[str, int]) -> dict[str, float | None]:
    total = sum(totals.values())
    return {
        outcome: (100.0 * totals.get(outcome, 0) / total) if total else None
        for outcome in (Outcome.DENIED, Outcome.ESCALATED)
    }


def decisions_panel(f: Filters, tail: Tail) -> dict[str, Any]:
    """Counts per bucket and outcome; totals, deny/escalation rates and their change against the
    previous window of the same length (in percentage points)."""
    per_hour: dict[datetime, Counter[str]] = defaultdict(Counter)
    for hour, outcome, n in (
        DecisionHour.objects.filter(_rollup_filter(f))
        .values_list("hour", "outcome")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        per_hour[hour][outcome] += int(n)
    for key, n in tail.matching(tail.hours, f):
        per_hour[key[0]][key[1]] += n
    buckets: dict[datetime, Counter[str]] = {start: Counter() for start in _bucket_starts(f)}
    for hour, counts in per_hour.items():
        buckets[bucket_start(hour, f.bucket)].update(counts)
    totals = dict.fromkeys(OUTCOMES, 0)
    for counts in buckets.values():
        for outcome, n in counts.items():
            totals[outcome] = totals.get(outcome, 0) + n
    previous = outcome_totals(f.previous, tail)
    rates, before = _rates(totals), _rates(previous)
    change = {
        outcome: (rates[outcome] - before[outcome])  # type: ignore[operator]
        if rates[outcome] is not None and before[outcome] is not None
        else None
        for outcome in rates
    }
    return {
        "buckets": [
            {"start": start, "counts": {o: counts.get(o, 0) for o in OUTCOMES}}
            for start, counts in buckets.items()
        ],
        "totals": totals,
        "total": sum(totals.values()),
        "previous_totals": previous,
        "previous_total": sum(previous.values()),
        "rates": rates,
        "previous_rates": before,
        "change": change,
    }


def top(counter: Counter[str], n: int = TOP_FACTORS) -> list[tuple[str, int]]:
    """The ``n`` largest counts, ties by name (a stable order, whatever was counted first)."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:n]


def risk_panel(f: Filters, tail: Tail) -> dict[str, Any]:
    """Decisions per risk level, and the rules and data classes most often behind high and
    critical risk decisions."""
    levels = dict.fromkeys(RISK_LEVELS, 0)
    for level, n in (
        DecisionHour.objects.filter(_rollup_filter(f))
        .values_list("risk_level")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        levels[level] = levels.get(level, 0) + int(n)
    for key, n in tail.matching(tail.hours, f):
        levels[key[2]] = levels.get(key[2], 0) + n
    factors: dict[str, Counter[str]] = {kind: Counter() for kind in RiskFactorHour.Kind.values}
    for kind, name, n in (
        RiskFactorHour.objects.filter(_rollup_filter(f))
        .values_list("kind", "name")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        factors[kind][name] += int(n)
    for key, n in tail.matching(tail.factors, f):
        factors[key[1]][key[2]] += n
    return {
        "levels": levels,
        "total": sum(levels.values()),
        "high_total": sum(levels.get(level, 0) for level in HIGH_RISK_LEVELS),
        "top_rules": top(factors[RiskFactorHour.Kind.RULE]),
        "top_data_classes": top(factors[RiskFactorHour.Kind.DATA_CLASS]),
    }


# --- Human oversight ------------------------------------------------------------------------------


def _decision_filter(f: Filters, prefix: str = "decision__") -> Q:
    q = Q()
    if f.ai_system:
        q &= Q(**{f"{prefix}ai_system": f.ai_system})
    if f.agent_key is not None:
        key = None if f.agent_key == NO_AGENT_KEY else f.agent_key
        q &= Q(**{f"{prefix}agent_key_id": key})
    return q


def _median_seconds(ordered: Any, count: int) -> float | None:
    """The median of ``took`` over a queryset ordered by it: the middle one or two rows only."""
    if not count:
        return None
    middle = list(ordered.values_list("took", flat=True)[(count - 1) // 2 : count // 2 + 1])
    return stats.mean(d.total_seconds() for d in middle)


def oversight_panel(f: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    open_ones = Escalation.objects.filter(_decision_filter(f), status__in=OPEN_STATUSES)
    pending = dict.fromkeys(SLA_STATES, 0)
    # Past the deadline is breached whatever else: counted by the database; the others are
    # classified by the one SLA rule (escalations.selectors.sla_state).
    pending["breached"] = open_ones.filter(sla_deadline__lte=now).count()
    for created_at, deadline in open_ones.filter(sla_deadline__gt=now).values_list(
        "created_at", "sla_deadline"
    ):
        pending[escalations.sla_state(created_at, deadline, now)] += 1
    resolved = (
        Escalation.objects.filter(
            _decision_filter(f),
            status=Escalation.Status.RESOLVED,
            resolved_at__gte=f.start,
            resolved_at__lt=f.end,
        )
        .annotate(took=F("resolved_at") - F("created_at"))
        .order_by("took")
    )
    resolved_count = resolved.count()
    overrides = Override.objects.filter(
        _decision_filter(f), created_at__gte=f.start, created_at__lt=f.end
    )
    stops = AgentStop.objects.filter(
        _decision_filter(f), created_at__gte=f.start, created_at__lt=f.end
    )
    return {
        "pending": pending,
        "pending_total": sum(pending.values()),
        "resolved_count": resolved_count,
        "median_resolve_seconds": _median_seconds(resolved, resolved_count),
        "override_count": overrides.count(),
        "overrides": list(
            overrides.select_related("executed_by", "decision").order_by("-created_at")[
                :LATEST_ROWS
            ]
        ),
        "stop_count": stops.count(),
        "stopped_agents": sorted(set(stops.values_list("decision__actor", flat=True))),
    }


# --- Integrity, compliance, incidents, Annex IV ---------------------------------------------------


def integrity_panel(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    checkpoint = ledger.checkpoint_latest()
    return {
        "size": ledger.ledger_size(),
        "checkpoint": checkpoint,
        "checkpoint_age_seconds": (now - checkpoint.created_at).total_seconds()
        if checkpoint
        else None,
        "verification": VerificationRun.objects.order_by("-finished_at", "-id").first(),
        "keys": [
            {"kid": key.kid, "algorithm": key.algorithm, "status": key.status}
            for key in ledger.keys_list()
        ],
    }


#: How long the compliance posture is reused between page views (computing every control's
#: status costs ~0.1 s; the compliance pages and API compute it afresh).
COMPLIANCE_TTL = 60


def compliance_panel(*, now: datetime | None = None) -> dict[str, Any]:
    """Per framework, the status counts the compliance app computes (never recomputed here),
    reused for up to ``COMPLIANCE_TTL`` seconds."""
    cached = cache.get("dashboard:compliance")
    if cached is not None:
        return cached
    panel = {"frameworks": _compliance_rows(), "computed_at": now or timezone.now()}
    cache.set("dashboard:compliance", panel, COMPLIANCE_TTL)
    return panel


def _compliance_rows() -> list[dict[str, Any]]:
    frameworks = compliance.statistics()["frameworks"]
    return [
        {
            "id": framework_id,
            "name": row["name"],
            "total": row["total"],
            "counts": [row.get(status, 0) for status in STATUSES],
        }
        | {status: row.get(status, 0) for status in STATUSES}
        for framework_id, row in frameworks.items()
    ]


def incidents_panel(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Incidents whose clocks may still run, each with its Art. 73 clock as it stands now."""
    now = now or timezone.now()
    rows = []
    for incident in incidents.running_incidents().order_by("aware_at"):
        clocks = incidents.incident_clocks(incident, now=now)
        rows.append({"incident": incident, "art73": clocks[0], "clocks": clocks})
    return rows


#: How long the Annex IV gaps are reused (building each system's document costs ~0.3 s).
ANNEX_IV_TTL = 300


def _annex_iv_fingerprint() -> str:
    """Changes whenever a system is registered or changed, or a narrative is written."""
    changes = AISystemChange.objects.aggregate(n=Max("ledger_seq"))["n"]
    narrative = Narrative.objects.aggregate(n=Max("pk"))["n"]
    return f"{changes}:{narrative}"


def annex_iv_panel(*, now: datetime | None = None) -> dict[str, Any]:
    """Registered AI systems whose Annex IV document still lacks items (techdoc's validator),
    computed at most ``ANNEX_IV_TTL`` seconds ago unless a system or a narrative changed since."""
    key = f"dashboard:annex-iv:{_annex_iv_fingerprint()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = []
    for system in registry.ai_system_list():
        missing = techdoc.missing_items(system=system)
        if missing:
            rows.append({"system": system, "missing": len(missing)})
    panel = {"rows": rows, "computed_at": now or timezone.now()}
    cache.set(key, panel, ANNEX_IV_TTL)
    return panel


def filter_choices() -> dict[str, list[tuple[Any, str]]]:
    return {
        "ai_systems": list(registry.ai_system_list().values_list("id", "name")),
        "agent_keys": [
            (str(pk), f"{name} ({prefix})")
            for pk, name, prefix in AgentKey.objects.order_by("name", "prefix").values_list(
                "pk", "name", "prefix"
            )
        ],
    }


def dashboard(f: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    """Every panel for the chosen filters (what the page renders)."""
    now = now or timezone.now()
    tail = live_tail(f.previous.start)
    return {
        "decisions": decisions_panel(f, tail),
        "risk": risk_panel(f, tail),
        "oversight": oversight_panel(f, now=now),
        "integrity": integrity_panel(now=now),
        "compliance": compliance_panel(now=now),
        "incidents": incidents_panel(now=now),
        "annex_iv": annex_iv_panel(now=now),
        "tail_size": tail.size,
    }
