"""Evidence reads, scoped by ``EvidenceArtifact.objects.visible_to`` (querysets.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from apps.core.exceptions import NotFound
from apps.evidence import services
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink, EvidenceDecisionLink


def _with_links(queryset: QuerySet[EvidenceArtifact]) -> QuerySet[EvidenceArtifact]:
    return queryset.prefetch_related(
        Prefetch("decision_links", queryset=EvidenceDecisionLink.objects.order_by("id")),
        Prefetch("control_links", queryset=EvidenceControlLink.objects.order_by("id")),
    )


def evidence_get(*, principal: Any, artifact_id: Any) -> EvidenceArtifact:
    """One artifact ``principal`` may see; ``NotFound`` otherwise (existence is not revealed)."""
    artifact = _with_links(EvidenceArtifact.objects.visible_to(principal)).filter(pk=artifact_id)
    found = artifact.first()
    if found is None:
        raise NotFound("No such evidence artifact.")
    return found


def evidence_list(
    *,
    principal: Any,
    artifact_type: str | None = None,
    decision_id: Any = None,
    framework: str | None = None,
    control_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[EvidenceArtifact]:
    """The artifacts ``principal`` may see, newest first, filtered."""
    queryset = EvidenceArtifact.objects.visible_to(principal)
    if artifact_type:
        queryset = queryset.filter(artifact_type=artifact_type)
    if decision_id is not None:
        queryset = queryset.filter(
            pk__in=EvidenceDecisionLink.objects.filter(decision_id=decision_id).values(
                "artifact_id"
            )
        )
    if control_id:
        links = EvidenceControlLink.objects.filter(control_id=control_id)
        if framework:
            links = links.filter(framework=framework.lower())
        queryset = queryset.filter(pk__in=links.values("artifact_id"))
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return _with_links(queryset.order_by("-created_at", "-id"))


def _rfc3339(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def evidence_as_dict(artifact: EvidenceArtifact) -> dict[str, Any]:
    """The API representation of an artifact and its links."""
    return {
        "artifact_id": str(artifact.pk),
        "artifact_type": artifact.artifact_type,
        "title": artifact.title,
        "sha256": artifact.sha256,
        "size_bytes": artifact.size_bytes,
        "media_type": artifact.media_type,
        "source": artifact.source,
        "metadata": artifact.metadata,
        "created_at": artifact.created_at.isoformat().replace("+00:00", "Z"),
        "retention_days": artifact.retention_days,
        "retention_until": _rfc3339(artifact.retention_until),
        "retention_class": artifact.retention_class,
        "expired_at": _rfc3339(artifact.expired_at),
        "registered_by": artifact.registered_by,
        "ledger_entry_id": artifact.ledger_seq,
        "decision_ids": [str(link.decision_id) for link in artifact.decision_links.all()],
        "control_ids": [link.ref for link in artifact.control_links.all()],
    }


def link_as_dict(link: EvidenceDecisionLink | EvidenceControlLink) -> dict[str, Any]:
    body: dict[str, Any] = {
        "artifact_id": str(link.artifact_id),
        "ledger_entry_id": link.ledger_seq,
        "created_at": link.created_at.isoformat().replace("+00:00", "Z"),
    }
    if isinstance(link, EvidenceDecisionLink):
        body.update(link="decision", decision_id=str(link.decision_id))
    else:
        body.update(link="control", framework=link.framework, control_id=link.control_id)
    return body


def evidence_verify(
    *, artifact: EvidenceArtifact, chunks: Iterable[bytes] | None = None
) -> dict[str, Any]:
    """Re-hash the stored bytes (or ``chunks`` sent by the caller) against the recorded hash.

    Writes nothing. ``reason`` says why an answer is ``valid: false``: ``mismatch`` (other bytes),
    ``missing`` (no stored content) or ``expired`` (retention ended, the content was deleted:
    nothing stored to re-hash, ``sha256: null``). Bytes sent by the caller are checked against the
    recorded hash whether or not the artifact has expired.
    """
    unhashed = {"valid": False, "sha256": None, "stored_sha256": artifact.sha256}
    if chunks is None and artifact.is_expired:
        return {**unhashed, "reason": "expired"}
    try:
        digest = services.digest_chunks(
            chunks if chunks is not None else services.stored_chunks(artifact.sha256)
        )
    except FileNotFoundError:
        return {**unhashed, "reason": "missing"}
    valid = digest.sha256 == artifact.sha256 and digest.size_bytes == artifact.size_bytes
    return {
        "valid": valid,
        "sha256": digest.sha256,
        "stored_sha256": artifact.sha256,
        "reason": None if valid else "mismatch",
    }


def evidence_statistics(*, principal: Any) -> dict[str, Any]:
    """Counts over the artifacts ``principal`` may see: total, bytes, per type, and how many
    distinct decisions and controls they are linked to."""
    from django.db.models import Count, Sum

    visible = EvidenceArtifact.objects.visible_to(principal)
    by_type = dict(
        visible.order_by()
        .values_list("artifact_type")
        .annotate(n=Count("id"))
        .values_list("artifact_type", "n")
    )
    decisions = (
        EvidenceDecisionLink.objects.filter(artifact__in=visible)
        .values("decision_id")
        .distinct()
        .count()
    )
    controls = (
        EvidenceControlLink.objects.filter(artifact__in=visible)
        .values("framework", "control_id")
        .distinct()
        .count()
    )
    return {
        "total": sum(by_type.values()),
        "total_size_bytes": visible.aggregate(total=Sum("size_bytes"))["total"] or 0,
        "by_type": by_type,
        "decisions_linked": decisions,
        "controls_linked": controls,
    }
