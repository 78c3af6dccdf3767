"""The governance-event contract: what every ledger entry type's payload holds.

Every payload written from envelope version 2 on shares one envelope —

    {"v": 2,
     "actor": {"kind": "agent" | "user" | "system", "id": ..., "label": ..., "role": ... | null},
     "subject": {"type": ..., "id": ...},
     "request_id": ... | null,
     "reason": ... | null,
     ...the type's own fields}

— so compliance status, oversight metrics, exports and the dashboard read one shape. Each entry type
declares its own fields below; ``ledger_append`` validates the payload against its type's model at
append time (strict JSON types, no unknown keys) and refuses anything else. Entries written before
version 2 carry no ``"v"`` and stay valid: the chain verifier never looks inside payloads, and
:func:`read_event` lifts their older shapes into the envelope for readers.

People appear only as ``user:<id>``, never by name or e-mail (DESIGN §7): a user actor's label must
equal its id. Human free text (notes, justifications, reasons typed by a person) never goes here in
clear; types carry its salted commitment (``*_commitment``). The envelope's ``reason`` is for short
machine-written reasons (a token revocation's stated cause, an SLA expiry). docs/ledger-formats.md
lists every type with its fields; a contract test keeps that page, this registry and
``EntryType`` equal.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from apps.core.exceptions import InvalidInput
from apps.core.logging import request_id_var
from apps.ledger.entry_types import EntryType

ENVELOPE_VERSION = 2

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Uuid = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
Timestamp = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")]
UserId = Annotated[str, StringConstraints(pattern=r"^user:\d+$")]

_ACTOR_ID = {
    "agent": re.compile(r"^agent:[A-Za-z0-9_]{1,32}$"),
    "user": re.compile(r"^user:\d+$"),
    "system": re.compile(r"^system:[a-z0-9_.:-]{1,64}$"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Actor(_Strict):
    """Who acted: an agent key (``agent:<key prefix>``), a person (``user:<id>``, label equal to
    the id: no personal data in clear) or the system itself (``system:<component>``)."""

    kind: Literal["agent", "user", "system"]
    id: Annotated[str, StringConstraints(max_length=80)]
    label: Text
    role: Annotated[str, StringConstraints(max_length=100)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Actor:
        if not _ACTOR_ID[self.kind].fullmatch(self.id):
            raise ValueError(f"an actor of kind {self.kind} has an id like {_ACTOR_ID[self.kind]}")
        if self.kind == "user" and self.label != self.id:
            raise ValueError("a person is named only by their pseudonymous id (label == id)")
        if self.kind != "user" and self.role is not None:
            raise ValueError("only people have a role")
        return self


class Subject(_Strict):
    """What the entry is about: the record an auditor would open to see it."""

    type: Code
    id: Text


class Envelope(_Strict):
    """The fields every version-2 payload has."""

    v: Literal[2]
    actor: Actor
    subject: Subject
    request_id: Annotated[str, StringConstraints(max_length=200)] | None
    reason: Text | None = None

    #: The subject type every entry of this type is about.
    SUBJECT: ClassVar[str] = ""

    @model_validator(mode="after")
    def _subject_type(self) -> Envelope:
        expected = type(self).SUBJECT
        if expected and self.subject.type != expected:
            raise ValueError(f"the subject of this entry type is a {expected}")
        return self


# --- The entry types -------------------------------------------------------------------------------


class PolicyLoaded(Envelope):
    SUBJECT = "policy_version"
    version_hash: Hex64
    name: Text
    version: Annotated[str, StringConstraints(max_length=100)]
    mode: Literal["strict", "permissive", "paranoid"]
    relations: Annotated[int, Field(ge=0)]


class PolicyActivated(Envelope):
    SUBJECT = "policy_version"
    version_hash: Hex64
    previous_hash: Hex64 | None
    name: Text
    version: Annotated[str, StringConstraints(max_length=100)]
    #: The salted commitment to the reason a person typed when activating from the staff page
    #: (the words stay on the activation row); absent for activations without a reason.
    reason_commitment: Hex64 | None = None


FlipKey = Annotated[
    str, StringConstraints(pattern=r"^(allowed|denied|escalated)->(allowed|denied|escalated)$")
]


class PolicySimulated(Envelope):
    """A draft version was replayed against the last ``requested`` decisions (ADR 0030): the
    summary of what would flip. Nothing else is written by a simulation."""

    SUBJECT = "policy_version"
    simulation_id: Uuid
    version_hash: Hex64
    baseline_hash: Hex64 | None
    requested: Annotated[int, Field(ge=1)]
    replayed: Annotated[int, Field(ge=0)]
    skipped_erased: Annotated[int, Field(ge=0)]
    flipped: Annotated[int, Field(ge=0)]
    flips: dict[FlipKey, Annotated[int, Field(ge=1)]]


class RequestedAction(_Strict):
    """What the agent asked to do (policy terms, not personal data; the context is committed)."""

    actor: Text
    action: Text
    resource: Annotated[str, StringConstraints(max_length=500)] | None
    data_classes: list[Annotated[str, StringConstraints(max_length=100)]]
    ai_system: Annotated[str, StringConstraints(max_length=200)]


class Risk(_Strict):
    score: Annotated[float, Field(ge=0, le=100)]
    level: Literal["low", "medium", "high", "critical"]


class DecisionMade(Envelope):
    SUBJECT = "decision"
    decision_id: Uuid
    request: RequestedAction
    outcome: Literal["allowed", "denied", "escalated"]
    rules: list[Text]
    policy_version: Annotated[str, StringConstraints(max_length=64)]
    risk: Risk
    context_commitment: Hex64 | Literal[""]
    token_jti: Annotated[str, StringConstraints(max_length=64)] | None


class DecisionResponseUnconfirmed(Envelope):
    SUBJECT = "decision"
    decision_id: Uuid
    decision_seq: Annotated[int, Field(ge=1)]
    cause: Code


class _AboutEscalation(Envelope):
    SUBJECT = "escalation"
    escalation_id: Uuid
    decision_id: Uuid


EscalationStatus = Literal["pending", "acknowledged", "resolved", "expired"]
Priority = Literal["low", "medium", "high", "critical"]


class EscalationCreated(_AboutEscalation):
    priority: Priority
    sla_deadline: Timestamp
    reason_commitment: Hex64


class EscalationAcknowledged(_AboutEscalation):
    before: EscalationStatus
    after: EscalationStatus


class EscalationAssigned(_AboutEscalation):
    reviewer: UserId


class EscalationApprovalRecorded(_AboutEscalation):
    approvals: Annotated[int, Field(ge=1)]
    approvals_required: Annotated[int, Field(ge=1)]
    note_commitment: Hex64


class EscalationResolved(_AboutEscalation):
    resolution: Literal["approved", "denied"]
    approvers: list[UserId]
    approvals_required: Annotated[int, Field(ge=1)] | None
    note_commitment: Hex64
    token_jti: Annotated[str, StringConstraints(max_length=64)] | None
    action_hash: Hex64 | None
    before: EscalationStatus
    after: EscalationStatus


class EscalationExpired(_AboutEscalation):
    priority: Priority
    sla_deadline: Timestamp
    outcome: Literal["denied"]
    approvals_recorded: Annotated[int, Field(ge=0)]
    before: EscalationStatus
    after: EscalationStatus


class OverrideExecuted(Envelope):
    SUBJECT = "decision"
    override_id: Uuid
    decision_id: Uuid
    override_type: Literal[
        "emergency_bypass", "executive_override", "time_limited_exception", "risk_accepted"
    ]
    outcome: Literal["allowed", "denied"]
    previous_outcome: Literal["allowed", "denied", "escalated"]
    justification_commitment: Hex64
    expires_at: Timestamp | None
    token_jti: Annotated[str, StringConstraints(max_length=64)] | None
    action_hash: Hex64 | None
    revoked_jtis: list[Annotated[str, StringConstraints(max_length=64)]]


class TokenRevoked(Envelope):
    SUBJECT = "token"
    jti: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AgentStopped(Envelope):
    SUBJECT = "decision"
    decision_id: Uuid
    agent_key: Annotated[str, StringConstraints(max_length=32)] | None
    reason_commitment: Hex64
    revoked_jtis: list[Annotated[str, StringConstraints(max_length=64)]]


class KeysRotated(Envelope):
    SUBJECT = "signing_keys"
    retired: list[Text]
    created: list[Text]


class ExportCreated(Envelope):
    SUBJECT = "export"
    export_id: Uuid
    scope: Code
    format: Code
    period_from: Timestamp | None = Field(alias="from")
    period_to: Timestamp | None = Field(alias="to")
    rows: Annotated[int, Field(ge=0)]
    sha256: Hex64


Sha256 = Hex64
#: ``<framework>:<control id>``, e.g. ``soc2:CC6.1`` (apps.evidence.constants.CONTROL_REF).
ControlRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}:[A-Za-z0-9][A-Za-z0-9.()_:/-]{0,63}$")
]
ArtifactType = Literal[
    "decision_log",
    "policy_snapshot",
    "context_capture",
    "screenshot",
    "attestation",
    "signature",
    "audit_trail",
    "external_report",
]


class EvidenceRegistered(Envelope):
    """An artifact's bytes were stored and its row written: hash, type, size and links, never
    the content, title or metadata."""

    SUBJECT = "evidence"
    artifact_id: Uuid
    artifact_type: ArtifactType
    sha256: Sha256
    size_bytes: Annotated[int, Field(ge=0)]
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    decision_ids: list[Uuid]
    control_ids: list[ControlRef]


class EvidenceLinked(Envelope):
    """A link appended after registration: to a decision, or to a framework's control."""

    SUBJECT = "evidence"
    artifact_id: Uuid
    link: Literal["decision", "control"]
    decision_id: Uuid | None = None
    framework: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] | None = None
    control_id: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.()_:/-]{0,63}$")] | None
    ) = None

    @model_validator(mode="after")
    def _one_target(self) -> EvidenceLinked:
        if self.link == "decision" and (
            self.decision_id is None or self.framework is not None or self.control_id is not None
        ):
            raise ValueError("a decision link names decision_id only")
        if self.link == "control" and (
            self.decision_id is not None or self.framework is None or self.control_id is None
        ):
            raise ValueError("a control link names framework and control_id only")
        return self


class EvidenceExpired(Envelope):
    """An artifact's retention ended: its row is marked expired, and its bytes are deleted unless
    another unexpired artifact shares them. The row and this entry keep the hash."""

    SUBJECT = "evidence"
    artifact_id: Uuid
    sha256: Sha256
    artifact_type: ArtifactType
    retention_until: Timestamp


AISystemField = Literal[
    "name",
    "version",
    "role",
    "intended_purpose",
    "annex_iii_point",
    "art_6_3_exempt",
    "art_6_3_condition",
    "art_6_3_reasoning",
    "risk_class",
    "owner",
    "status",
]


class AISystemRegistered(Envelope):
    """A system entered the AI system registry (apps.aisystems): its id and its EU AI Act
    classification in clear, its owner as ``user:<id>``, and its two free texts (intended
    purpose, Art. 6(3) reasoning) only as commitments opened with the system's salt."""

    SUBJECT = "ai_system"
    ai_system_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    role: Literal["provider", "deployer", "both"]
    annex_iii_point: Annotated[str, StringConstraints(pattern=r"^[1-8]\([a-e]\)$")] | None
    art_6_3_exempt: bool
    art_6_3_condition: Literal["a", "b", "c", "d"] | None
    risk_class: Literal["prohibited", "high", "limited", "minimal"]
    status: Literal["development", "active", "suspended", "retired"]
    owner: UserId | None
    intended_purpose_commitment: Hex64
    art_6_3_reasoning_commitment: Hex64 | None


class AISystemUpdated(AISystemRegistered):
    """A registered system changed: the fields that changed, and every classification field
    (and text commitment) as it is after the change."""

    changed: Annotated[list[AISystemField], Field(min_length=1)]


NarrativeFieldCode = Literal[
    "distribution",
    "instructions_for_use",
    "development_methods",
    "design_choices",
    "architecture",
    "data_requirements",
    "oversight_assessment",
    "predetermined_changes",
    "test_reports",
    "cybersecurity",
    "capabilities_and_limits",
    "metric_rationale",
    "risk_management",
    "change_notes",
    "standards",
    "declaration_of_conformity",
    "pmm_evaluation",
]
SystemRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]


class TechdocNarrativeSaved(Envelope):
    """An officer saved a new version of one narrative of an AI system's technical documentation
    (apps.techdoc). The text stays off the ledger: its plain SHA-256 is here, so whoever holds the
    document can check the text against the entry (ADR 0024)."""

    SUBJECT = "technical_documentation"
    ai_system_id: SystemRef
    field: NarrativeFieldCode
    item: Annotated[int, Field(ge=1, le=9)]
    version: Annotated[int, Field(ge=1)]
    text_sha256: Hex64
    previous_text_sha256: Hex64 | None


class TechdocGenerated(Envelope):
    """An Annex IV document was generated and stored as an evidence artifact: which one, the
    SHA-256 of its file and of its content, whether it was complete, and the window it covers."""

    SUBJECT = "technical_documentation"
    ai_system_id: SystemRef
    format: Literal["json", "html", "pdf"]
    artifact_id: Uuid
    sha256: Hex64
    content_sha256: Hex64
    complete: bool
    missing: Annotated[int, Field(ge=0)]
    window_from: Timestamp
    window_to: Timestamp
    checkpoint_size: Annotated[int, Field(ge=0)] | None


# --- EU AI Act monitoring (apps.monitoring: Art. 14 interventions, Art. 72 plans and alerts) -------

Roles = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}(,[a-z_]{1,40}){0,9}$")]
PmmMetricCode = Literal[
    "decisions",
    "deny_rate",
    "escalation_rate",
    "override_rate",
    "high_risk_share",
    "mean_risk_score",
    "sla_breaches",
    "incidents",
]
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\d$")]


class InterventionRecorded(Envelope):
    """A person recorded a human intervention on a decision (Art. 14) that the oversight
    workflow did not capture itself: its type, the AI system's recommendation and the human
    decision, the role they acted in and how long they took. The reason stays off the ledger
    (its salted commitment is here); the decision's outcome is not changed by it."""

    SUBJECT = "decision"
    intervention_id: Uuid
    decision_id: Uuid
    ai_system: Annotated[str, StringConstraints(max_length=200)]
    intervention_type: Literal[
        "approval",
        "override",
        "escalation",
        "emergency_stop",
        "policy_exception",
        "manual_review",
    ]
    ai_recommendation: Literal["allowed", "denied"]
    human_decision: Literal["allowed", "denied", "escalated", "stopped"]
    role: Roles
    reason_commitment: Hex64
    response_time_ms: Annotated[int, Field(ge=0)] | None


class PmmMetric(_Strict):
    """One monitored metric of a plan: alert when it moves by more than ``threshold`` against
    the previous window, in ``direction``."""

    metric: PmmMetricCode
    threshold: Annotated[float, Field(ge=0)]
    direction: Literal["up", "down", "either"]


class PmmPlanCreated(Envelope):
    """A post-market monitoring plan for one AI system (Art. 72, Annex IV item 9): its owner,
    window, the metrics it watches and their thresholds in clear; its description only as a
    commitment."""

    SUBJECT = "pmm_plan"
    plan_id: Uuid
    ai_system_id: SystemRef
    owner: UserId
    window_days: Annotated[int, Field(ge=1, le=365)]
    min_decisions: Annotated[int, Field(ge=0)]
    metrics: Annotated[list[PmmMetric], Field(min_length=1)]
    description_commitment: Hex64 | None


class PmmPlanUpdated(PmmPlanCreated):
    """A plan changed: the fields that changed, and the whole plan as it is after the change."""

    changed: Annotated[
        list[Literal["owner", "window_days", "min_decisions", "metrics", "description"]],
        Field(min_length=1),
    ]


class PmmPlanDeleted(Envelope):
    """A plan was withdrawn; its row and its alerts stay, the system may get a new plan."""

    SUBJECT = "pmm_plan"
    plan_id: Uuid
    ai_system_id: SystemRef
    alerts_cleared: Annotated[int, Field(ge=0)]


class DriftAlertFired(Envelope):
    """A monitored metric moved past its threshold against the previous window (Art. 72):
    both windows (UTC days, end exclusive), both values and the change. Fired once per breach;
    the next alert for the same metric needs a ``drift_alert.cleared`` first."""

    SUBJECT = "drift_alert"
    alert_id: Uuid
    plan_id: Uuid
    ai_system_id: SystemRef
    metric: PmmMetricCode
    window_start: Day
    window_end: Day
    value: float
    previous_value: float
    change: float
    threshold: Annotated[float, Field(ge=0)]
    direction: Literal["up", "down", "either"]


class DriftAlertCleared(Envelope):
    """The breach is over: the metric is back within its threshold (values of the window that
    showed it), or it is no longer monitored (values null, the reason says why)."""

    SUBJECT = "drift_alert"
    alert_id: Uuid
    plan_id: Uuid
    ai_system_id: SystemRef
    metric: PmmMetricCode
    window_start: Day | None
    window_end: Day | None
    value: float | None
    previous_value: float | None


IncidentCategory = Literal["general", "death", "widespread_or_critical_infrastructure"]
IncidentStatus = Literal["open", "initial_report_sent", "complete_report_sent", "closed"]
AISystemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]
SuggestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}:[A-Za-z0-9._:-]{1,160}$")]


class _AboutIncident(Envelope):
    SUBJECT = "incident"
    incident_id: Uuid


class IncidentOpened(_AboutIncident):
    """A serious incident was opened (apps.incidents): its system, category, when the
    organisation became aware, the deadlines that start from it, the records it links, and the
    description only as a commitment."""

    ai_system_id: AISystemId
    category: IncidentCategory
    aware_at: Timestamp
    report_due_at: Timestamp
    personal_data_involved: bool
    gdpr_due_at: Timestamp | None
    member_state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None
    description_commitment: Hex64
    decision_ids: list[Uuid]
    evidence_ids: list[Uuid]
    suggestion: SuggestionKey | None


class IncidentTransitioned(_AboutIncident):
    """An incident moved to another state; moving to a ``*_report_sent`` state names the report
    version it sent (and its PDF's hash); the first report says whether the Art. 73 deadline was
    met."""

    before: IncidentStatus
    after: IncidentStatus
    report_id: Uuid | None
    report_sha256: Hex64 | None
    deadline_met: bool | None
    note_commitment: Hex64 | None


class IncidentGdprNotified(_AboutIncident):
    """The officer recorded that the supervisory authority was notified (GDPR Art. 33)."""

    gdpr_due_at: Timestamp
    deadline_met: bool


class IncidentReportGenerated(_AboutIncident):
    """A report version was rendered and stored as two ``external_report`` artifacts."""

    report_id: Uuid
    kind: Literal["initial", "complete"]
    version: Annotated[int, Field(ge=1)]
    html_artifact_id: Uuid
    html_sha256: Hex64
    pdf_artifact_id: Uuid
    pdf_sha256: Hex64


class IncidentDeadlineWarning(_AboutIncident):
    """A clock's deadline is ``lead_hours`` away (0: it has passed); written once per incident,
    clock and lead, then e-mailed to ``recipients`` people."""

    clock: Literal["art73", "gdpr_art33"]
    due_at: Timestamp
    lead_hours: Annotated[int, Field(ge=0)]
    recipients: Annotated[int, Field(ge=0)]


class IncidentSuggestionDismissed(Envelope):
    """A suggested incident was dismissed by a person; the reason only as a commitment."""

    SUBJECT = "incident_suggestion"
    suggestion: SuggestionKey
    source: Literal["agent_stop", "emergency_bypass", "deny_spike"]
    ai_system: Annotated[str, StringConstraints(max_length=200)] | None
    decision_ids: list[Uuid]
    reason_commitment: Hex64


HoldScope = Literal["ai_system", "actor", "decision_ids", "time_range"]
RetentionClassName = Literal["high_risk", "standard", "gdpr_intersect"]
Count = Annotated[int, Field(ge=0)]


class LegalHoldPlaced(Envelope):
    """A legal hold was placed (apps.retention): what it covers in clear (an AI system id, the
    decisions' actor as on ``decision.made``, decision ids, a period), the reason and who asked
    for it only as commitments opened with the hold's salt."""

    SUBJECT = "legal_hold"
    hold_id: Uuid
    scope: HoldScope
    ai_system: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None
    decision_actor: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None
    decision_ids: list[Uuid]
    period_from: Timestamp | None
    period_to: Timestamp | None
    reason_commitment: Hex64
    requested_by_commitment: Hex64


class LegalHoldReleased(Envelope):
    """A legal hold ended; its release reason only as a commitment (the hold's salt)."""

    SUBJECT = "legal_hold"
    hold_id: Uuid
    scope: HoldScope
    placed_seq: Annotated[int, Field(ge=1)]
    reason_commitment: Hex64


class ResumedRun(_Strict):
    run_id: Uuid
    decisions_anonymised: Count
    artifacts_expired: Count


class RetentionSweepCompleted(Envelope):
    """One completed run of the retention sweep and what it did: decisions whose context, salt
    and people's words it erased (per class), oversight texts erased, decisions and artifacts a
    legal hold kept, artifacts expired (each also has its ``evidence.expired`` entry), the
    interrupted runs whose work it took over, and whether it stopped at its time budget."""

    SUBJECT = "retention_run"
    run_id: Uuid
    as_of: Timestamp
    started_at: Timestamp
    decisions_anonymised: dict[RetentionClassName, Count]
    texts_erased: Count
    decisions_held: Count
    artifacts_expired: Count
    artifact_contents_deleted: Count
    artifacts_held: Count
    resumed: list[ResumedRun]
    time_limited: bool


class TestEvent(_Strict):
    """Free-form payloads for the ledger's own tests and benchmarks; refused unless
    ``LEXECON_LEDGER_TEST_EVENTS`` is on (test settings only)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


#: Every appendable entry type and the model its payload must satisfy. The genesis entry is
#: written by the ledger itself (``{"origin", "format"}``) and is not appendable.
class ComplianceAttested(Envelope):
    """An officer attested a control until ``expires_at``; the justification stays off the ledger
    (its salted commitment is here), the evidence it cites is named by artifact id."""

    SUBJECT = "control"
    attestation_id: Uuid
    control: ControlRef
    status: Literal["implemented", "partially_implemented"]
    expires_at: Timestamp
    justification_commitment: Hex64
    evidence_ids: list[Uuid]


REGISTRY: dict[str, type[_Strict]] = {
    EntryType.POLICY_LOADED: PolicyLoaded,
    EntryType.POLICY_ACTIVATED: PolicyActivated,
    EntryType.POLICY_SIMULATED: PolicySimulated,
    EntryType.DECISION_MADE: DecisionMade,
    EntryType.DECISION_RESPONSE_UNCONFIRMED: DecisionResponseUnconfirmed,
    EntryType.ESCALATION_CREATED: EscalationCreated,
    EntryType.ESCALATION_ACKNOWLEDGED: EscalationAcknowledged,
    EntryType.ESCALATION_ASSIGNED: EscalationAssigned,
    EntryType.ESCALATION_APPROVAL_RECORDED: EscalationApprovalRecorded,
    EntryType.ESCALATION_RESOLVED: EscalationResolved,
    EntryType.ESCALATION_EXPIRED: EscalationExpired,
    EntryType.OVERRIDE_EXECUTED: OverrideExecuted,
    EntryType.TOKEN_REVOKED: TokenRevoked,
    EntryType.AGENT_STOPPED: AgentStopped,
    EntryType.KEYS_ROTATED: KeysRotated,
    EntryType.EXPORT_CREATED: ExportCreated,
    EntryType.EVIDENCE_REGISTERED: EvidenceRegistered,
    EntryType.EVIDENCE_LINKED: EvidenceLinked,
    EntryType.COMPLIANCE_ATTESTED: ComplianceAttested,
    EntryType.EVIDENCE_EXPIRED: EvidenceExpired,
    EntryType.AI_SYSTEM_REGISTERED: AISystemRegistered,
    EntryType.AI_SYSTEM_UPDATED: AISystemUpdated,
    EntryType.TECHDOC_NARRATIVE_SAVED: TechdocNarrativeSaved,
    EntryType.TECHDOC_GENERATED: TechdocGenerated,
    EntryType.INTERVENTION_RECORDED: InterventionRecorded,
    EntryType.PMM_PLAN_CREATED: PmmPlanCreated,
    EntryType.PMM_PLAN_UPDATED: PmmPlanUpdated,
    EntryType.PMM_PLAN_DELETED: PmmPlanDeleted,
    EntryType.DRIFT_ALERT_FIRED: DriftAlertFired,
    EntryType.DRIFT_ALERT_CLEARED: DriftAlertCleared,
    EntryType.INCIDENT_OPENED: IncidentOpened,
    EntryType.INCIDENT_TRANSITIONED: IncidentTransitioned,
    EntryType.INCIDENT_GDPR_NOTIFIED: IncidentGdprNotified,
    EntryType.INCIDENT_REPORT_GENERATED: IncidentReportGenerated,
    EntryType.INCIDENT_DEADLINE_WARNING: IncidentDeadlineWarning,
    EntryType.INCIDENT_SUGGESTION_DISMISSED: IncidentSuggestionDismissed,
    EntryType.LEGAL_HOLD_PLACED: LegalHoldPlaced,
    EntryType.LEGAL_HOLD_RELEASED: LegalHoldReleased,
    EntryType.RETENTION_SWEEP_COMPLETED: RetentionSweepCompleted,
    EntryType.TEST_EVENT: TestEvent,
}


def envelope(
    *,
    actor: dict[str, Any],
    subject_type: str,
    subject_id: str,
    request_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The envelope part of a payload; a service adds its type's own fields to it.

    ``request_id`` defaults to the id of the HTTP request being served (the one every log record
    of it carries), so an entry can be joined to its request's logs; outside a request it is null.
    """
    if request_id is None:
        current = request_id_var.get()
        request_id = None if current == "-" else current
    return {
        "v": ENVELOPE_VERSION,
        "actor": actor,
        "subject": {"type": subject_type, "id": subject_id},
        "request_id": request_id or None,
        "reason": reason,
    }


def validate_payload(entry_type: str, payload: dict[str, Any], *, allow_test: bool) -> None:
    """Raise ``InvalidInput`` unless ``payload`` is exactly what ``entry_type`` declares."""
    model = REGISTRY.get(entry_type)
    if model is None or (model is TestEvent and not allow_test):
        raise InvalidInput(f"Unknown ledger entry type {entry_type!r}.")
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        problems = [
            {
                "field": ".".join(str(part) for part in error["loc"]) or "(payload)",
                "error": error["msg"],
            }
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(
            f"The {entry_type} payload does not match its declared fields; nothing was written.",
            details={"entry_type": entry_type, "errors": problems},
        ) from exc


def fields_of(entry_type: str) -> list[str]:
    """The payload's top-level keys for ``entry_type`` (envelope first), for docs and tests."""
    model = REGISTRY[entry_type]
    return [field.alias or name for name, field in model.model_fields.items()]


# --- Reading ---------------------------------------------------------------------------------------

_V1_SUBJECTS: dict[str, tuple[str, str | None]] = {
    EntryType.POLICY_LOADED: ("policy_version", "version_hash"),
    EntryType.POLICY_ACTIVATED: ("policy_version", "version_hash"),
    EntryType.DECISION_MADE: ("decision", "decision_id"),
    EntryType.DECISION_RESPONSE_UNCONFIRMED: ("decision", "decision_id"),
    EntryType.OVERRIDE_EXECUTED: ("decision", "decision_id"),
    EntryType.AGENT_STOPPED: ("decision", "decision_id"),
    EntryType.TOKEN_REVOKED: ("token", "jti"),
    EntryType.KEYS_ROTATED: ("signing_keys", None),
}


def read_event(entry_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A payload in the version-2 envelope, whichever version wrote it.

    Version-2 payloads are returned as they are. Older ones (no ``"v"``) kept the actor as
    ``actor_label``/``actor_kind``/``actor_role`` and the subject as ``subject_type``/``subject_id``
    or not at all; they are lifted into ``actor``/``subject`` here (``v`` = 1), with every original
    key kept, so a report reads one shape without rewriting a single stored entry.
    """
    if payload.get("v") == ENVELOPE_VERSION or entry_type == EntryType.GENESIS:
        return payload
    lifted = dict(payload)
    label = payload.get("actor_label")
    kind = payload.get("actor_kind") or ("user" if str(label).startswith("user:") else "system")
    kind = {"human": "user"}.get(kind, kind)
    if entry_type == EntryType.DECISION_MADE and payload.get("agent_key"):
        kind, label = "agent", f"agent:{payload['agent_key']}"
    lifted["actor"] = {
        "kind": kind,
        "id": label or "system:unknown",
        "label": label or "system",
        "role": payload.get("actor_role"),
    }
    if "subject_type" in payload:
        subject = (payload["subject_type"], payload.get("subject_id"))
    else:
        subject_type, key = _V1_SUBJECTS.get(entry_type, ("unknown", None))
        subject = (subject_type, payload.get(key) if key else None)
    lifted["subject"] = {"type": subject[0], "id": subject[1]}
    lifted.setdefault("request_id", None)
    lifted["v"] = 1
    return lifted
