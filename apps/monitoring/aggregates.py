"""The counting behind the Art. 9, 14 and 72 figures: aggregate SQL, never a Python loop over
decisions.

Populations (docs/eu-ai-act/monitoring.md, "How the figures are counted"):
- decisions made in the period (``Decision.created_at``), of one AI system or of all;
- escalations opened in the period (``Escalation.created_at``), whatever became of them since;
- human acts (responsibility records other than the automated one, overrides, stops,
  interventions) done in the period.

Each is one indexed range: decisions of a system by the partial index ``decisions_ai_system_time``
(so a filter on a system repeats its condition, ``.exclude(ai_system="")``), all decisions by
``created_at``; human records by the partial index ``decisions_human_records_time``
(``.exclude(kind="decision")``); escalations, overrides and stops by their ``created_at`` index,
joined to their decision for the system. Percentiles are nearest-rank, read with ``ORDER BY ...
LIMIT 1 OFFSET k``; the JSON lists of a decision (data classes, rules) are unnested by the
database (``jsonb_array_elements`` on PostgreSQL, ``json_each`` on SQLite).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps as django_apps
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate

from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations.models import AgentStop, Escalation, EscalationApproval, Override
from apps.monitoring.constants import TOP_SOURCES
from apps.monitoring.models import Intervention
from apps.monitoring.periods import Window
from apps.risk.scoring import DIMENSIONS

LEVELS = ("low", "medium", "high", "critical")
HIGH_LEVELS = ("high", "critical")
OPEN = (Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED)
# Human records that carry a verdict on the decision (not a four-eyes first approval, an SLA
# expiry or a stop): their human_decision says allowed or denied.
VERDICT_KINDS = (
    ResponsibilityRecord.Kind.RESOLUTION,
    ResponsibilityRecord.Kind.OVERRIDE,
    ResponsibilityRecord.Kind.INTERVENTION,
)
# How each verdict kind writes its human_decision: a resolution "approved"/"denied", an override
# "allowed (risk_accepted)", an intervention "denied (manual_review)".
HUMAN_ALLOWED = Q(human_decision="approved") | Q(human_decision__startswith="allowed")
HUMAN_DENIED = Q(human_decision__startswith="denied")
DISAGREES = (Q(ai_recommendation="allowed") & HUMAN_DENIED) | (
    Q(ai_recommendation="denied") & HUMAN_ALLOWED
)


def ratio(part: float | None, whole: float | None, digits: int = 4) -> float | None:
    """``part / whole`` rounded, or None when there is nothing to divide by."""
    if not whole or part is None:
        return None
    return round(part / whole, digits)


# --- Decisions ---------------------------------------------------------------------------------


def decisions_in(*, ai_system: str | None, window: Window) -> QuerySet[Decision]:
    """Decisions made in the window, of ``ai_system`` (None: of every system and of none)."""
    queryset = Decision.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    if ai_system:
        # The second condition is the partial index's own: it lets both databases use it.
        queryset = queryset.filter(ai_system=ai_system).exclude(ai_system="")
    return queryset.order_by()


def _decision_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {
        "total": Count("pk"),
        "allowed": Count("pk", filter=Q(outcome="allowed")),
        "denied": Count("pk", filter=Q(outcome="denied")),
        "escalated": Count("pk", filter=Q(outcome="escalated")),
        "risk_sum": Sum("risk_score"),
    }
    for level in LEVELS:
        counts[level] = Count("pk", filter=Q(risk_level=level))
    return counts


def decision_figures(decisions: QuerySet[Decision]) -> dict[str, Any]:
    """Counts by outcome and risk level, and the sum of risk scores, in one query."""
    row = decisions.aggregate(**_decision_counts())
    row["risk_sum"] = float(row["risk_sum"] or 0.0)
    return row


def dimension_figures(decisions: QuerySet[Decision]) -> dict[str, dict[str, Any]]:
    """Per risk dimension (DESIGN §9): how many decisions scored it, mean and highest score, and
    how many fell in each level band of that dimension alone (the bands of ``risk.scoring``) —
    one query."""
    bands = {
        level: (threshold, upper)
        for level, threshold, upper in (
            ("low", None, 30.0),
            ("medium", 30.0, 60.0),
            ("high", 60.0, 80.0),
            ("critical", 80.0, None),
        )
    }
    aggregates: dict[str, Any] = {}
    for name in DIMENSIONS:
        score = f"{name}_score"
        present = Q(**{f"{score}__isnull": False})
        aggregates[f"{name}__n"] = Count("pk", filter=present)
        aggregates[f"{name}__mean"] = Avg(score, filter=present)
        aggregates[f"{name}__max"] = Max(score, filter=present)
        for level, (lower, upper) in bands.items():
            condition = present
            if lower is not None:
                condition &= Q(**{f"{score}__gte": lower})
            if upper is not None:
                condition &= Q(**{f"{score}__lt": upper})
            aggregates[f"{name}__{level}"] = Count("pk", filter=condition)
    annotated = decisions.annotate(
        **{
            f"{name}_score": Cast(KeyTextTransform(name, "risk_dimensions"), FloatField())
            for name in DIMENSIONS
        }
    )
    row = annotated.aggregate(**aggregates)
    return {
        name: {
            "decisions": row[f"{name}__n"],
            "mean": round(row[f"{name}__mean"], 2) if row[f"{name}__mean"] is not None else None,
            "max": row[f"{name}__max"],
            "by_level": {level: row[f"{name}__{level}"] for level in LEVELS},
        }
        for name in DIMENSIONS
    }


# A decision is a risk source's when it was denied, escalated, or scored high or critical.
_FLAGGED = "(d.outcome IN ('denied', 'escalated') OR d.risk_level IN ('high', 'critical'))"
_SOURCE_COLUMNS = (
    "COUNT(*) AS n, "
    "SUM(CASE WHEN d.outcome = 'denied' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN d.outcome = 'escalated' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN d.risk_level IN ('high', 'critical') THEN 1 ELSE 0 END), "
    "AVG(d.risk_score)"
)
# How each database unnests a decision's JSON list: (FROM addition, source expression).
_UNNEST = {
    "postgresql": {
        "data_classes": (
            "CROSS JOIN LATERAL jsonb_array_elements_text(d.data_classes) AS src(item)",
            "src.item",
        ),
        "rules": (
            "CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS src(item)",
            "src.item ->> 'rule_id'",
        ),
    },
    "sqlite": {
        "data_classes": (", json_each(d.data_classes) AS src", "src.value"),
        "rules": (", json_each(d.reasons) AS src", "json_extract(src.value, '$.rule_id')"),
    },
}


def _source_row(source: Any, n: int, denied: int, escalated: int, high: int, mean: Any) -> dict:
    return {
        "id": source,
        "decisions": int(n),
        "denied": int(denied or 0),
        "escalated": int(escalated or 0),
        "high_or_critical": int(high or 0),
        "mean_risk_score": round(float(mean), 2) if mean is not None else None,
    }


def _unnested_sources(kind: str, *, ai_system: str | None, window: Window) -> list[dict]:
    joined, source = _UNNEST[connection.vendor][kind]
    table = Decision._meta.db_table
    conditions = ["d.created_at >= %s", "d.created_at < %s", _FLAGGED, f"{source} IS NOT NULL"]
    params: list[Any] = [
        connection.ops.adapt_datetimefield_value(window.start),
        connection.ops.adapt_datetimefield_value(window.end),
    ]
    if ai_system:
        conditions.append("d.ai_system = %s AND NOT (d.ai_system = '')")
        params.append(ai_system)
    sql = (
        f"SELECT {source} AS source, {_SOURCE_COLUMNS} "  # noqa: S608 # nosec B608 - no user text
        f"FROM {connection.ops.quote_name(table)} d {joined} "
        f"WHERE {' AND '.join(conditions)} "
        f"GROUP BY {source} ORDER BY n DESC, source LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, TOP_SOURCES])
        return [_source_row(*row) for row in cursor.fetchall()]


def top_risk_sources(*, ai_system: str | None, window: Window) -> dict[str, list[dict]]:
    """The rules, data classes and actors behind the most decisions that were denied, escalated
    or high/critical risk; each with those counts and the mean risk score of its decisions."""
    flagged = decisions_in(ai_system=ai_system, window=window).filter(
        Q(outcome__in=("denied", "escalated")) | Q(risk_level__in=HIGH_LEVELS)
    )
    actors = (
        flagged.values("actor")
        .annotate(
            n=Count("pk"),
            denied=Count("pk", filter=Q(outcome="denied")),
            escalated=Count("pk", filter=Q(outcome="escalated")),
            high=Count("pk", filter=Q(risk_level__in=HIGH_LEVELS)),
            mean=Avg("risk_score"),
        )
        .order_by("-n", "actor")[:TOP_SOURCES]
    )
    return {
        "rules": _unnested_sources("rules", ai_system=ai_system, window=window),
        "data_classes": _unnested_sources("data_classes", ai_system=ai_system, window=window),
        "actors": [
            _source_row(a["actor"], a["n"], a["denied"], a["escalated"], a["high"], a["mean"])
            for a in actors
        ],
    }


# --- Human acts --------------------------------------------------------------------------------


def _of_system(queryset: QuerySet, ai_system: str | None, path: str = "decision__") -> QuerySet:
    return queryset.filter(**{f"{path}ai_system": ai_system}) if ai_system else queryset


def human_records(*, ai_system: str | None, window: Window) -> QuerySet[ResponsibilityRecord]:
    """Responsibility records of people (and the SLA) written in the window."""
    records = ResponsibilityRecord.objects.exclude(kind=ResponsibilityRecord.Kind.DECISION).filter(
        created_at__gte=window.start, created_at__lt=window.end
    )
    return _of_system(records, ai_system).order_by()


def verdict_figures(records: QuerySet[ResponsibilityRecord]) -> dict[str, int]:
    """Human verdicts (resolutions, overrides, interventions that allow or deny) and how many
    differ from the AI's recommendation."""
    verdicts = records.filter(kind__in=VERDICT_KINDS)
    return verdicts.aggregate(
        verdicts=Count("pk", filter=HUMAN_ALLOWED | HUMAN_DENIED),
        disagreements=Count("pk", filter=DISAGREES),
    )


def interventions_in(*, ai_system: str | None, window: Window) -> QuerySet[Intervention]:
    queryset = Intervention.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    return _of_system(queryset, ai_system, path="").order_by()


def overrides_in(*, ai_system: str | None, window: Window) -> QuerySet[Override]:
    queryset = Override.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    return _of_system(queryset, ai_system).order_by()


def stops_in(*, ai_system: str | None, window: Window) -> QuerySet[AgentStop]:
    queryset = AgentStop.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    return _of_system(queryset, ai_system).order_by()


def count_by(queryset: QuerySet, field: str, values: Iterable[str]) -> dict[str, int]:
    """``{value: count}`` for every value (zero included), one GROUP BY."""
    found = dict(queryset.values_list(field).annotate(n=Count("pk")).values_list(field, "n"))
    return {value: found.get(value, 0) for value in values}


# --- Escalations -------------------------------------------------------------------------------


def escalations_opened(*, ai_system: str | None, window: Window) -> QuerySet[Escalation]:
    queryset = Escalation.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    return _of_system(queryset, ai_system).order_by()


def _time_to_verdict() -> ExpressionWrapper:
    return ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())


def breached_q(now: datetime) -> Q:
    """Escalations that broke their SLA: expired, resolved late, or still open past it."""
    return (
        Q(status=Escalation.Status.EXPIRED)
        | Q(status=Escalation.Status.RESOLVED, resolved_at__gt=F("sla_deadline"))
        | Q(status__in=OPEN, sla_deadline__lte=now)
    )


def escalation_figures(escalations: QuerySet[Escalation], *, now: datetime) -> dict[str, int]:
    """Fates, SLA and four-eyes counts of these escalations, in three queries."""
    resolved = Escalation.Status.RESOLVED
    row = escalations.aggregate(
        opened=Count("pk"),
        approved=Count("pk", filter=Q(status=resolved, resolution="approved")),
        denied=Count("pk", filter=Q(status=resolved, resolution="denied")),
        expired=Count("pk", filter=Q(status=Escalation.Status.EXPIRED)),
        open=Count("pk", filter=Q(status__in=OPEN)),
        sla_met=Count("pk", filter=Q(status=resolved, resolved_at__lte=F("sla_deadline"))),
        sla_breached=Count("pk", filter=breached_q(now)),
        open_within_sla=Count("pk", filter=Q(status__in=OPEN, sla_deadline__gt=now)),
        escalated_by_people=Count("pk", filter=Q(escalated_by__startswith="user:")),
    )
    approvals = EscalationApproval.objects.values("escalation").annotate(n=Count("pk"))
    row["approved_by_two"] = approvals.filter(
        escalation__in=escalations.filter(status=resolved, resolution="approved").values("pk"),
        n__gte=2,
    ).count()
    row["awaiting_second_approval"] = approvals.filter(
        escalation__in=escalations.filter(status__in=OPEN).values("pk"), n=1
    ).count()
    return row


def nearest_rank(values: QuerySet, field: str, percent: float) -> Any:
    """The nearest-rank ``percent``-th percentile of ``field`` over ``values`` (rows with a null
    left out): the smallest value with at least ``percent`` % of the values at or below it.
    Two queries: the count, then one row at its offset."""
    present = values.filter(**{f"{field}__isnull": False})
    count = present.count()
    if count == 0:
        return None
    rank = max(1, math.ceil(percent / 100 * count))
    return present.order_by(field).values_list(field, flat=True)[rank - 1]


def seconds(value: timedelta | None) -> float | None:
    return round(value.total_seconds(), 3) if value is not None else None


def escalation_times(escalations: QuerySet[Escalation], *, floor: float) -> dict[str, Any]:
    """Time from an escalation opening to its human verdict: p50/p95 of every verdict, the
    median of approvals, and how many approvals came faster than ``floor`` seconds."""
    decided = escalations.filter(status=Escalation.Status.RESOLVED).annotate(
        took=_time_to_verdict()
    )
    approved = decided.filter(resolution="approved")
    return {
        "decided": decided.count(),
        "p50": seconds(nearest_rank(decided, "took", 50)),
        "p95": seconds(nearest_rank(decided, "took", 95)),
        "approval_median": seconds(nearest_rank(approved, "took", 50)),
        "approvals_under_floor": approved.filter(took__lt=timedelta(seconds=floor)).count(),
    }


# --- Day buckets for Art. 72 -------------------------------------------------------------------


def _by_day(queryset: QuerySet, field: str, **aggregates: Any) -> dict[date, dict[str, Any]]:
    rows = (
        queryset.annotate(day=TruncDate(field)).values("day").annotate(**aggregates).order_by("day")
    )
    return {row.pop("day"): row for row in rows}


def daily_figures(
    *, ai_system: str, window: Window, now: datetime, incidents: QuerySet | None
) -> dict[date, dict[str, Any]]:
    """Per UTC day of the window: decision counts by outcome and level and their risk sum; human
    verdicts and disagreements; SLA breaches of the escalations opened that day; incidents
    (when tracked). Four GROUP BY queries, whatever the number of decisions."""
    days: dict[date, dict[str, Any]] = {}

    def merge(rows: dict[date, dict[str, Any]]) -> None:
        for day, values in rows.items():
            days.setdefault(day, {}).update(values)

    merge(
        _by_day(
            decisions_in(ai_system=ai_system, window=window), "created_at", **_decision_counts()
        )
    )
    verdicts = human_records(ai_system=ai_system, window=window).filter(kind__in=VERDICT_KINDS)
    merge(
        _by_day(
            verdicts,
            "created_at",
            verdicts=Count("pk", filter=HUMAN_ALLOWED | HUMAN_DENIED),
            disagreements=Count("pk", filter=DISAGREES),
        )
    )
    opened = escalations_opened(ai_system=ai_system, window=window)
    merge(_by_day(opened, "created_at", sla_breaches=Count("pk", filter=breached_q(now))))
    if incidents is not None:
        merge(_by_day(incidents, "aware_at", incidents=Count("pk")))
    return days


def incident_model() -> Any:
    """The incidents app's ``Incident`` model when that app is installed and its rows name an
    ``ai_system`` and an ``aware_at`` (Art. 73); otherwise None and incidents are not counted."""
    if not django_apps.is_installed("apps.incidents"):
        return None
    try:
        model = django_apps.get_model("incidents", "Incident")
    except LookupError:
        return None
    names = {field.name for field in model._meta.get_fields()}
    return model if {"ai_system", "aware_at"} <= names else None


def incidents_in(*, ai_system: str, window: Window) -> QuerySet | None:
    model = incident_model()
    if model is None:
        return None
    return model.objects.filter(
        ai_system=ai_system, aware_at__gte=window.start, aware_at__lt=window.end
    ).order_by()
