"""Policy simulation: replay the last N decisions through a (draft) version (ADR 0030).

Each stored decision is rebuilt into the ``DecideRequest`` it was asked as, from what its row keeps
(actor, action, resource, data classes, context), and goes through the same two steps ``/decide``
used: ``services.evaluate_with`` (the engine plus the caller's stricter mode) and
``services.risk_escalation`` (the risk threshold), with the risk scored by the same
``scoring.assess``. Only the policy differs. The replayed outcome is compared with the stored one.

What a decision row does not keep is recovered from what it does:

- the caller's *risk hints* (``risk_level``, ``risk_dimensions``): every dimension of the stored
  risk that is higher than what the decision's own policy version and data classes give was raised
  by a hint, and is passed on as a caller dimension; hints only ever raise, so this reproduces the
  stored score exactly under the decision's own version;
- the caller's *stricter mode* (``policy_mode``): visible when it changed the outcome (a leading
  ``mode:strict``/``mode:paranoid`` reason stricter than the version's own mode) and replayed then;
  when it did not change the original outcome it left no trace and is not replayed;
- an *erased context* (the retention sweep, ADR 0021): the request cannot be rebuilt, so the decision
  is not replayed and is counted as ``skipped_erased`` (evaluating it with an empty context would make
  every condition error and report flips that are artefacts of the erasure).

The replay writes nothing but the run's progress and, at the end, its result with the one
``policy.simulated`` ledger entry (``apps.policies.services.simulation_finish``).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.core.exceptions import NotFound
from apps.decisions.models import Decision
from apps.decisions.services import DecideRequest, evaluate_with, risk_escalation
from apps.policies import selectors as policies
from apps.policies import services as policy_services
from apps.policies.models import PolicySimulation, PolicyVersion
from apps.risk import scoring

#: Examples kept per kind of flip, and rules listed as responsible.
EXAMPLES_PER_FLIP = 5
TOP_RULES = 20
#: Reasons that did not decide (a stronger rule or the mode won; an erroring permit).
NOT_DECIDING = frozenset({"escalate_outranked", "permit_outranked", "permit_error"})
MODE_STRICTNESS = {"permissive": 0, "strict": 1, "paranoid": 2}
FIELDS = (
    "id",
    "ledger_seq",
    "created_at",
    "actor",
    "action",
    "resource",
    "data_classes",
    "context",
    "outcome",
    "reasons",
    "policy_version",
    "risk_dimensions",
)


@dataclass(frozen=True)
class Replayed:
    """One decision's replay: the stored and the replayed outcome, and why."""

    outcome: str
    reasons: list[dict]
    risk_score: float


class Replayer:
    """Replays stored decisions through ``draft``; compiles each version once."""

    def __init__(self, draft: PolicyVersion) -> None:
        self.draft = policies.compiled_for(draft)
        self._versions: dict[str, Any] = {}

    def _compiled(self, version_hash: str) -> Any:
        """The compiled version a decision was made with (None if it is not stored here)."""
        if version_hash not in self._versions:
            try:
                version = policies.version_get(identifier=version_hash)
            except NotFound:
                self._versions[version_hash] = None
            else:
                self._versions[version_hash] = policies.compiled_for(version)
        return self._versions[version_hash]

    def replay(self, row: dict[str, Any]) -> Replayed:
        """The outcome ``row`` (a decision's stored fields; context not erased) would have had
        under the draft."""
        request = DecideRequest(
            actor=row["actor"],
            action=row["action"],
            resource=row["resource"],
            data_classes=tuple(row["data_classes"] or ()),
            context=row["context"],
        )
        original = self._compiled(row["policy_version"]) if row["policy_version"] else None
        # The decision's own version: which mode the caller asked for, what the hints raised.
        _, _, _, _, original_metadata = evaluate_with(original, request)
        mode = _caller_mode(row["reasons"], original.mode if original else None)
        if mode:
            request = dataclasses.replace(request, policy_mode=mode)
        hints = _risk_hints(row, original_metadata)
        outcome, reasons, _, _, metadata = evaluate_with(self.draft, request)
        risk = scoring.assess(
            term_metadata=metadata,
            data_classes=request.data_classes,
            context=request.context,
            caller_dimensions=hints,
        )
        outcome = risk_escalation(outcome, reasons, risk.score)
        return Replayed(outcome, reasons, risk.score)


def _caller_mode(reasons: list[dict], version_mode: str | None) -> str | None:
    """The stricter mode the caller asked for, when its reason leads the stored reasons."""
    if not reasons or version_mode is None:
        return None
    rule_id = str(reasons[0].get("rule_id", ""))
    if rule_id not in ("mode:strict", "mode:paranoid"):
        return None
    asked = rule_id.removeprefix("mode:")
    if MODE_STRICTNESS[asked] > MODE_STRICTNESS.get(version_mode, 0):
        return asked
    return None


def _risk_hints(row: dict[str, Any], original_metadata: list[dict]) -> dict[str, float]:
    """The stored risk dimensions the caller's hints raised above what the decision's own
    version and data classes give (module docstring)."""
    base = scoring.assess(
        term_metadata=original_metadata,
        data_classes=row["data_classes"] or (),
        context=row["context"],
    ).dimensions
    return {
        name: float(value)
        for name, value in (row["risk_dimensions"] or {}).items()
        if isinstance(value, int | float) and float(value) > base.get(name, -1.0)
    }


def _rows(requested: int) -> Iterator[dict[str, Any]]:
    """The last ``requested`` decisions, newest first, streamed (ledger order: its unique index)."""
    queryset = Decision.objects.order_by("-ledger_seq").values(*FIELDS)[:requested]
    return queryset.iterator(chunk_size=2000)


def _example(row: dict[str, Any], replayed: Replayed) -> dict[str, Any]:
    return {
        "decision_id": str(row["id"]),
        "ledger_seq": row["ledger_seq"],
        "created_at": row["created_at"].isoformat().replace("+00:00", "Z"),
        "actor": row["actor"],
        "action": row["action"],
        "resource": row["resource"],
        "data_classes": list(row["data_classes"] or ()),
        "before": row["outcome"],
        "after": replayed.outcome,
        "before_rules": [r.get("rule_id") for r in row["reasons"] or ()][:5],
        "after_reasons": _deciding(replayed.reasons)[:5],
    }


def _deciding(reasons: list[dict]) -> list[dict]:
    return [r for r in reasons if r.get("effect") not in NOT_DECIDING]


def simulation_run(*, simulation_id: Any, progress_every: int = 2000) -> PolicySimulation:
    """Run one pending simulation to the end (the Celery task's body) and return it."""
    simulation = PolicySimulation.objects.select_related("version", "baseline").get(
        pk=simulation_id
    )
    if simulation.status == PolicySimulation.Status.DONE:
        return simulation  # idempotent: a redelivered task does not run (or ledger) twice
    started = time.monotonic()
    total = Decision.objects.order_by("-ledger_seq")[: simulation.requested].count()
    policy_services.simulation_start(simulation=simulation, total=total)
    replayer = Replayer(simulation.version)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    flips: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    messages: dict[str, str] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    replayed_count = skipped = 0
    for index, row in enumerate(_rows(simulation.requested), start=1):
        if row["context"] is None:
            skipped += 1
        else:
            replayed = replayer.replay(row)
            replayed_count += 1
            before[row["outcome"]] += 1
            after[replayed.outcome] += 1
            if replayed.outcome != row["outcome"]:
                key = f"{row['outcome']}->{replayed.outcome}"
                flips[key] += 1
                for reason in _deciding(replayed.reasons):
                    rules[reason["rule_id"]] += 1
                    messages.setdefault(reason["rule_id"], reason.get("message", ""))
                kept = examples.setdefault(key, [])
                if len(kept) < EXAMPLES_PER_FLIP:
                    kept.append(_example(row, replayed))
        if index % progress_every == 0:
            policy_services.simulation_progress(simulation=simulation, processed=index)
    result = {
        "requested": simulation.requested,
        "replayed": replayed_count,
        "skipped_erased": skipped,
        "flipped": sum(flips.values()),
        "unchanged": replayed_count - sum(flips.values()),
        "outcomes_before": dict(sorted(before.items())),
        "outcomes_after": dict(sorted(after.items())),
        "flips": dict(sorted(flips.items())),
        "rules": [
            {"rule_id": rule_id, "flips": count, "message": messages[rule_id]}
            for rule_id, count in sorted(rules.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_RULES
            ]
        ],
        "examples": examples,
        "risk_escalation_threshold": settings.LEXECON_RISK_ESCALATION_THRESHOLD,
        "seconds": round(time.monotonic() - started, 3),
    }
    return policy_services.simulation_finish(simulation=simulation, result=result)


def result_for(*, principal: Any, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A simulation's result as ``principal`` may read it: the figures and rules in full, the
    example decisions only those it may see (``Decision.objects.visible_to``)."""
    if not result:
        return result
    ids = [example["decision_id"] for kept in result["examples"].values() for example in kept]
    visible = {
        str(pk)
        for pk in Decision.objects.visible_to(principal)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    }
    examples = {
        key: [example for example in kept if example["decision_id"] in visible]
        for key, kept in result["examples"].items()
    }
    return {**result, "examples": examples, "examples_hidden": len(ids) - len(visible)}
