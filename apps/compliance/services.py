"""Compliance writes: load the shipped catalogs, record attestations, roll the ledger into the tally.

- ``catalogs_load`` writes the catalog files into Framework/Control/Capability/ControlMapping rows,
  idempotently (a second run with the same files changes nothing; a control a newer file drops is
  kept and marked ``withdrawn``, because attestations and evidence links name it).
- ``attestation_create`` records an officer's statement with its ``compliance.attested`` entry.
- ``tally_catch_up`` reads the ledger from the tally's cursor on and counts each entry as evidence
  for the capabilities its type belongs to and the controls it names; status and statistics then
  read small tables instead of the decisions table (docs/compliance.md, "Evidence counts").
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.principals import actor_of
from apps.compliance import catalog as catalog_files
from apps.compliance.models import (
    Attestation,
    Capability,
    Control,
    ControlEvidence,
    ControlMapping,
    EvidenceTally,
    EvidenceTotal,
    Framework,
    TallyCursor,
)
from apps.core.exceptions import InvalidInput, NotFound
from apps.decisions.models import Decision
from apps.evidence.models import EvidenceArtifact
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry

# --- Catalogs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadReport:
    frameworks: int
    controls_created: int
    controls_updated: int
    controls_withdrawn: int
    capabilities: int
    mappings: int

    def as_text(self) -> str:
        return (
            f"{self.frameworks} frameworks; controls: {self.controls_created} new, "
            f"{self.controls_updated} updated, {self.controls_withdrawn} withdrawn; "
            f"{self.capabilities} capabilities, {self.mappings} mappings"
        )


_CONTROL_FIELDS = (
    "title",
    "summary",
    "category",
    "assessable",
    "rule",
    "typical_evidence",
    "attributes",
    "official_text",
    "position",
    "withdrawn",
)


def _file_sha256(path: Any) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@transaction.atomic
def catalogs_load(catalogs: catalog_files.Catalogs | None = None) -> LoadReport:
    """Write the catalogs (default: the shipped files) into the database; idempotent."""
    catalogs = catalogs or catalog_files.load_catalog_dir()
    now = timezone.now()
    created = updated = withdrawn = 0
    for position, (framework_id, spec) in enumerate(catalogs.frameworks.items()):
        meta = spec.framework
        path = catalogs.files.get(framework_id)
        framework, _ = Framework.objects.update_or_create(
            id=framework_id,
            defaults={
                "name": meta.name,
                "version": meta.version,
                "publisher": meta.publisher,
                "published": meta.published or "",
                "licence_class": meta.licence_class,
                "copyright": meta.copyright,
                "source_url": meta.source_url or "",
                "aliases": list(meta.aliases),
                "catalog_sha256": _file_sha256(path) if path else "",
                "position": position,
                "loaded_at": now,
            },
        )
        existing = {c.control_id: c for c in Control.objects.filter(framework=framework)}
        specs = {c.id: c for c in spec.controls}
        new: list[Control] = []
        changed: list[Control] = []
        for index, control_spec in enumerate(spec.controls):
            values = {
                "title": control_spec.title,
                "summary": control_spec.summary,
                "category": control_spec.category,
                "assessable": control_spec.assessable,
                "rule": control_spec.rule or "",
                "typical_evidence": list(control_spec.typical_evidence),
                "attributes": dict(control_spec.attributes),
                "official_text": control_spec.official_text or "",
                "position": index,
                "withdrawn": False,
            }
            control = existing.get(control_spec.id)
            if control is None:
                new.append(Control(framework=framework, control_id=control_spec.id, **values))
            elif any(getattr(control, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(control, name, value)
                changed.append(control)
        for control in Control.objects.bulk_create(new):
            existing[control.control_id] = control
        created += len(new)
        # Parents are set once every row of the framework exists (the file lists parents first).
        reparented = []
        for control_id, control in existing.items():
            parent_ref = specs[control_id].parent if control_id in specs else None
            parent_pk = existing[parent_ref].pk if parent_ref else None
            if control.parent_id != parent_pk:  # type: ignore[attr-defined]
                control.parent_id = parent_pk  # type: ignore[attr-defined]
                reparented.append(control)
        Control.objects.bulk_update(list({c.pk: c for c in changed}.values()), [*_CONTROL_FIELDS])
        Control.objects.bulk_update(reparented, ["parent"])
        updated += len({c.pk for c in changed} | {c.pk for c in reparented} - {c.pk for c in new})
        gone = [c.pk for cid, c in existing.items() if cid not in specs and not c.withdrawn]
        withdrawn += Control.objects.filter(pk__in=gone).update(withdrawn=True)

    controls = {(c.framework_id, c.control_id): c.pk for c in Control.objects.all()}
    current = {
        (m.capability_id, m.control_id): m  # type: ignore[attr-defined]
        for m in ControlMapping.objects.all()
    }
    wanted: set[tuple[str, int]] = set()
    new_mappings: list[ControlMapping] = []
    changed_mappings: list[ControlMapping] = []
    for position, cap in enumerate(catalogs.crosswalk.capabilities):
        Capability.objects.update_or_create(
            id=cap.id,
            defaults={
                "title": cap.title,
                "description": cap.description,
                "entry_types": list(cap.entry_types),
                "position": position,
            },
        )
        for framework_id, mappings in cap.mappings.items():
            for mapping in mappings:
                key = (cap.id, controls[(framework_id, mapping.id)])
                if key in wanted:
                    continue
                wanted.add(key)
                row = current.get(key)
                if row is None:
                    new_mappings.append(
                        ControlMapping(
                            capability_id=cap.id,
                            control_id=key[1],
                            relationship=mapping.relationship,
                            rationale=mapping.rationale,
                        )
                    )
                elif (row.relationship, row.rationale) != (mapping.relationship, mapping.rationale):
                    row.relationship, row.rationale = mapping.relationship, mapping.rationale
                    changed_mappings.append(row)
    ControlMapping.objects.bulk_create(new_mappings)
    ControlMapping.objects.bulk_update(changed_mappings, ["relationship", "rationale"])
    stale = [m.pk for key, m in current.items() if key not in wanted]
    ControlMapping.objects.filter(pk__in=stale).delete()
    mapping_count = len(wanted)
    cap_ids = [c.id for c in catalogs.crosswalk.capabilities]
    Capability.objects.exclude(id__in=cap_ids).delete()
    return LoadReport(
        frameworks=len(catalogs.frameworks),
        controls_created=created,
        controls_updated=updated,
        controls_withdrawn=withdrawn,
        capabilities=len(cap_ids),
        mappings=mapping_count,
    )


# --- Name resolution ------------------------------------------------------------------------------


def framework_aliases() -> dict[str, str]:
    """Every accepted spelling of a loaded framework (squashed) → its id."""
    names: dict[str, str] = {}
    for framework_id, aliases in Framework.objects.values_list("id", "aliases"):
        for name in (framework_id, *aliases):
            names[catalog_files._squash(name)] = framework_id
    return names


def framework_resolve(name: str) -> Framework:
    """``soc2`` / ``SOC2`` / ``PCI-DSS`` → the Framework; NotFound otherwise."""
    framework_id = catalog_files.resolve_framework(name, framework_aliases())
    framework = Framework.objects.filter(pk=framework_id).first() if framework_id else None
    if framework is None:
        raise NotFound(
            f"No framework {name!r}.",
            details={"frameworks": list(Framework.objects.values_list("id", flat=True))},
        )
    return framework


def control_resolve(framework: Framework, control_id: str) -> Control:
    control = Control.objects.filter(framework=framework, control_id=control_id).first()
    if control is None:
        # Control ids are printed in several cases ("cc6.1" in a URL): match case-insensitively.
        control = Control.objects.filter(framework=framework, control_id__iexact=control_id).first()
    if control is None:
        raise NotFound(f"{framework.id} has no control {control_id!r}.")
    return control


def control_refs_resolve(refs: list[str]) -> list[str]:
    """Control names as callers write them (``SOC2:CC6.1``, ``iso27001:a.8.15``) → the catalog's
    ``framework:control_id``; InvalidInput naming every ref no loaded catalog has."""
    if not refs:
        return []
    tags = _TagIndex.build()
    names = {pk: f"{fw}:{cid}" for pk, fw, cid in _control_names()}
    resolved: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        pk = tags.resolve(ref)
        if pk is None:
            unknown.append(ref)
        else:
            resolved.append(names[pk])
    if unknown:
        hint = "" if names else " No catalog is loaded: run manage.py load_catalogs."
        raise InvalidInput(
            "Unknown control: name a control of a loaded catalog as <framework>:<control id>, "
            f"e.g. soc2:CC6.1 (GET /compliance/frameworks lists them).{hint}",
            details={"control_ids": unknown},
        )
    return list(dict.fromkeys(resolved))


def _control_names() -> list[tuple[int, str, str]]:
    return list(
        Control.objects.filter(assessable=True, withdrawn=False).values_list(
            "pk", "framework_id", "control_id"
        )
    )


# --- Attestations ---------------------------------------------------------------------------------


MIN_JUSTIFICATION = 20


@dataclass(frozen=True)
class AttestationRequest:
    control: Control
    status: str
    justification: str
    expires_at: datetime
    evidence_ids: list[str]


def attestation_check(
    *,
    user: Any,
    control: Control,
    justification: str,
    expires_at: datetime | None = None,
    evidence_ids: list[str] | None = None,
    status: str = Attestation.Status.IMPLEMENTED,
) -> AttestationRequest:
    """Validate an attestation without writing anything (InvalidInput / NotFound otherwise)."""
    now = timezone.now()
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"An attestation needs a justification of at least {MIN_JUSTIFICATION} characters.",
            details={"justification": len(justification)},
        )
    if not control.assessable or control.withdrawn:
        raise InvalidInput(
            f"{control.ref} cannot be attested: it is "
            f"{'withdrawn' if control.withdrawn else 'a group, not a control'}."
        )
    longest = timedelta(days=settings.LEXECON_ATTESTATION_MAX_DAYS)
    if expires_at is None:
        expires_at = now + longest
    if expires_at <= now or expires_at > now + longest:
        raise InvalidInput(
            "expires_at must be in the future and at most "
            f"{settings.LEXECON_ATTESTATION_MAX_DAYS} days away.",
            details={"expires_at": expires_at.isoformat()},
        )
    if status not in Attestation.Status.values:
        raise InvalidInput(
            f"status is one of {', '.join(Attestation.Status.values)}.",
            details={"status": status},
        )
    wanted = list(dict.fromkeys(str(i) for i in evidence_ids or []))
    found = {
        str(pk)
        for pk in EvidenceArtifact.objects.visible_to(user)
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("No such evidence artifact.", details={"evidence_ids": missing})
    return AttestationRequest(control, status, justification, expires_at, wanted)


@transaction.atomic
def attestation_create(*, user: Any, **values: Any) -> Attestation:
    """Record an officer's attestation of a control until ``expires_at`` (ledgered).

    Takes the arguments of :func:`attestation_check`; the justification stays off the ledger
    (a salted commitment is ledgered), the row is append-only.
    """
    checked = attestation_check(user=user, **values)
    control, status, justification = checked.control, checked.status, checked.justification
    expires_at, wanted = checked.expires_at, checked.evidence_ids
    attestation = Attestation(
        control=control,
        status=status,
        justification=justification,
        evidence_ids=wanted,
        expires_at=expires_at,
        attested_by=user,
        ledger_seq=0,
    )
    commitment, _salt = ledger.commit_personal(justification)
    payload = {
        **events.envelope(actor=actor_of(user), subject_type="control", subject_id=control.ref),
        "attestation_id": str(attestation.pk),
        "control": control.ref,
        "status": status,
        "expires_at": expires_at.astimezone(UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "justification_commitment": commitment,
        "evidence_ids": wanted,
    }
    entry = ledger.ledger_append(entry_type=EntryType.COMPLIANCE_ATTESTED, payload=payload)
    attestation.ledger_seq = entry.seq
    attestation.save(force_insert=True)
    return attestation


# --- The evidence tally ---------------------------------------------------------------------------


TALLY_BATCH = 5000
#: Tally key counting decisions that named an AI system the registry did not know.
UNREGISTERED_AI_SYSTEM = "flag:unregistered_ai_system"


@dataclass
class _TagIndex:
    """Resolves a decision's control tags (``"SOC2:CC6.1"``) to Control rows, memoised."""

    aliases: dict[str, str]
    controls: dict[tuple[str, str], int]
    lowered: dict[tuple[str, str], int]
    memo: dict[str, int | None]

    @classmethod
    def build(cls) -> _TagIndex:
        controls = {
            (fw, cid): pk
            for pk, fw, cid in Control.objects.values_list("pk", "framework_id", "control_id")
        }
        lowered = {(fw, cid.lower()): pk for (fw, cid), pk in controls.items()}
        return cls(framework_aliases(), controls, lowered, {})

    def resolve(self, tag: str) -> int | None:
        if tag in self.memo:
            return self.memo[tag]
        found: int | None = None
        parts = catalog_files.split_tag(tag)
        if parts:
            framework_id = catalog_files.resolve_framework(parts[0], self.aliases)
            if framework_id:
                found = self.controls.get((framework_id, parts[1])) or self.lowered.get(
                    (framework_id, parts[1].lower())
                )
        self.memo[tag] = found
        return found


def _entry_controls(
    entry_type: str, payload: dict[str, Any], decision_tags: list[str], tags: _TagIndex
) -> list[tuple[int | None, str, str]]:
    """(control pk or None, via, raw name) for every control this entry names directly."""
    named: list[tuple[str, str]] = []
    if entry_type == EntryType.DECISION_MADE:
        named = [(tag, ControlEvidence.Via.TAG) for tag in decision_tags]
    elif entry_type == EntryType.EVIDENCE_REGISTERED:
        named = [(ref, ControlEvidence.Via.LINK) for ref in payload.get("control_ids") or []]
    elif entry_type == EntryType.EVIDENCE_LINKED and payload.get("link") == "control":
        named = [(f"{payload['framework']}:{payload['control_id']}", ControlEvidence.Via.LINK)]
    elif entry_type == EntryType.COMPLIANCE_ATTESTED:
        named = [(payload["control"], ControlEvidence.Via.ATTESTATION)]
    return [(tags.resolve(name), via, name) for name, via in named]


def _day(timestamp: str) -> date:
    return date.fromisoformat(timestamp[:10])


def tally_catch_up(*, limit: int | None = None) -> int:
    """Count ledger entries past the cursor into the tally; returns how many were counted.

    Runs in batches, each in one transaction with the cursor's advance, so a crash repeats
    nothing and loses nothing. ``limit`` bounds the work of one call (a request catching up);
    the ``compliance.tally`` task runs it without a limit.
    """
    cursor = TallyCursor.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    if not LedgerEntry.objects.filter(seq__gt=-1 if cursor is None else cursor).exists():
        return 0  # nothing new: skip building the tag index
    counted = 0
    entry_caps: dict[str, list[str]] = defaultdict(list)
    for cap_id, entry_types in Capability.objects.values_list("id", "entry_types"):
        for entry_type in entry_types:
            entry_caps[entry_type].append(cap_id)
    tags = _TagIndex.build()
    while limit is None or counted < limit:
        batch = TALLY_BATCH if limit is None else min(TALLY_BATCH, limit - counted)
        done = _tally_batch(batch, entry_caps, tags)
        counted += done
        if done < batch:
            break
    return counted


@transaction.atomic
def _tally_batch(batch: int, entry_caps: dict[str, list[str]], tags: _TagIndex) -> int:
    cursor, _ = TallyCursor.objects.select_for_update().get_or_create(pk=1)
    rows = list(
        LedgerEntry.objects.filter(seq__gt=cursor.last_seq)
        .order_by("seq")
        .values_list("seq", "entry_type", "timestamp", "payload")[:batch]
    )
    if not rows:
        return 0
    decision_seqs = [seq for seq, kind, _, _ in rows if kind == EntryType.DECISION_MADE]
    decision_tags: dict[int, list[str]] = {}
    unregistered: set[int] = set()
    for seq, controls, registered in (
        Decision.objects.filter(ledger_seq__in=decision_seqs)
        .order_by()
        .values_list("ledger_seq", "controls", "ai_system_registered")
    ):
        decision_tags[seq] = controls
        if registered is False:
            unregistered.add(seq)
    counts: dict[tuple[str, date], list[Any]] = {}
    evidence: list[ControlEvidence] = []

    def count(key: str, seq: int, timestamp: str) -> None:
        slot = counts.setdefault((key, _day(timestamp)), [0, seq, timestamp])
        slot[0] += 1
        slot[1], slot[2] = seq, timestamp

    for seq, entry_type, timestamp, payload_text in rows:
        for cap_id in entry_caps.get(entry_type, ()):
            count(f"cap:{cap_id}", seq, timestamp)
        if entry_type not in (
            EntryType.DECISION_MADE,
            EntryType.EVIDENCE_REGISTERED,
            EntryType.EVIDENCE_LINKED,
            EntryType.COMPLIANCE_ATTESTED,
        ):
            continue
        if seq in unregistered:
            count(UNREGISTERED_AI_SYSTEM, seq, timestamp)
        payload = json.loads(payload_text) if entry_type != EntryType.DECISION_MADE else {}
        seen: set[int] = set()
        for control_pk, via, name in _entry_controls(
            entry_type, payload, list(decision_tags.get(seq) or []), tags
        ):
            if control_pk is None:
                count(f"tag:{name}"[:160], seq, timestamp)
                continue
            if control_pk in seen:
                continue
            seen.add(control_pk)
            count(f"ctl:{control_pk}", seq, timestamp)
            evidence.append(
                ControlEvidence(
                    control_id=control_pk,
                    ledger_seq=seq,
                    entry_type=entry_type,
                    via=via,
                    at=timestamp,
                )
            )
    ControlEvidence.objects.bulk_create(evidence, ignore_conflicts=True)
    _add_counts(counts)
    cursor.last_seq = rows[-1][0]
    cursor.save(update_fields=["last_seq", "updated_at"])
    return len(rows)


def _add_counts(counts: dict[tuple[str, date], list[Any]]) -> None:
    keys = {key for key, _ in counts}
    days = {day for _, day in counts}
    existing = {(t.key, t.day): t for t in EvidenceTally.objects.filter(key__in=keys, day__in=days)}
    new: list[EvidenceTally] = []
    changed: list[EvidenceTally] = []
    for (key, day), (n, seq, at) in counts.items():
        tally = existing.get((key, day))
        if tally is None:
            new.append(EvidenceTally(key=key, day=day, count=n, last_seq=seq, last_at=at))
        else:
            tally.count += n
            tally.last_seq, tally.last_at = seq, at
            changed.append(tally)
    EvidenceTally.objects.bulk_create(new)
    EvidenceTally.objects.bulk_update(changed, ["count", "last_seq", "last_at"])
    # The running totals per key (what status reads answer from), in the same transaction.
    per_key: dict[str, list[Any]] = {}
    for (key, _day), (n, seq, at) in sorted(counts.items(), key=lambda item: item[1][1]):
        slot = per_key.setdefault(key, [0, seq, at])
        slot[0] += n
        slot[1], slot[2] = seq, at
    totals = {t.key: t for t in EvidenceTotal.objects.filter(key__in=per_key)}
    for key, (n, seq, at) in per_key.items():
        total = totals.get(key)
        if total is None:
            totals[key] = EvidenceTotal(key=key, count=n, last_seq=seq, last_at=at)
            totals[key]._state.adding = True
        else:
            total.count += n
            total.last_seq, total.last_at = seq, at
    EvidenceTotal.objects.bulk_create([t for t in totals.values() if t._state.adding])
    EvidenceTotal.objects.bulk_update(
        [t for t in totals.values() if not t._state.adding], ["count", "last_seq", "last_at"]
    )
