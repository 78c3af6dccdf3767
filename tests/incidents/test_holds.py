"""An open serious incident keeps its records: the decisions and evidence linked to it are held
from the retention sweep and the evidence expiry until it is closed (a derived hold of
apps.retention.holds, registered by apps.incidents)."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.utils import timezone

from apps.decisions.models import Decision
from apps.evidence import services as evidence
from apps.evidence.models import EvidenceArtifact
from apps.retention import services as retention
from apps.retention.selectors import article_12_status
from tests.incidents.conftest import URL
from tests.retention.conftest import FAR_FUTURE, decide, later

CLOSE_NOTE = "Not a serious incident: the ranking was a test fixture, no applicant was affected."


def artifact(officer) -> EvidenceArtifact:
    return evidence.evidence_register(
        principal=officer.user,
        artifact_type="screenshot",
        title="ranking screen",
        content=ContentFile(b"png bytes of the ranking"),
        media_type="image/png",
    )


def open_with(officer, body, **links) -> dict:
    response = officer.post(URL, {**body, **links}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def close(officer, incident_id: str) -> None:
    response = officer.patch(
        f"{URL}/{incident_id}", {"status": "closed", "note": CLOSE_NOTE}, format="json"
    )
    assert response.status_code == 200, response.content


def test_an_open_incident_keeps_its_decisions_and_evidence_until_it_is_closed(officer, body, agent):
    linked, other = decide(agent), decide(agent)
    screenshot, loose = artifact(officer), artifact(officer)
    incident = open_with(
        officer, body, decision_ids=[linked["decision_id"]], evidence_ids=[str(screenshot.pk)]
    )

    result = retention.retention_sweep(as_of=later(FAR_FUTURE.days))
    assert result.decisions_held == 1
    assert Decision.objects.get(pk=linked["decision_id"]).context is not None
    assert Decision.objects.get(pk=other["decision_id"]).context is None
    expiry = evidence.evidence_expire_due(now=timezone.now() + FAR_FUTURE)
    assert expiry.held == 1
    screenshot.refresh_from_db()
    loose.refresh_from_db()
    assert screenshot.expired_at is None
    assert loose.expired_at is not None

    # Article 12's status names the hold and what implies it.
    holds = article_12_status()["legal_holds"]
    assert holds["active"] == 1
    [derived] = holds["holds"]
    assert derived["derived_from"] == {"type": "incident", "id": incident["id"]}
    assert derived["decision_ids"] == [linked["decision_id"]]
    assert derived["artifact_ids"] == [str(screenshot.pk)]

    close(officer, incident["id"])
    assert article_12_status()["legal_holds"]["active"] == 0
    assert retention.retention_sweep(as_of=later(FAR_FUTURE.days)).decisions_anonymised == 1
    assert Decision.objects.get(pk=linked["decision_id"]).context is None
    # The sweep has the evidence service expire what is past its retention: the screenshot too.
    screenshot.refresh_from_db()
    assert screenshot.expired_at is not None


def test_an_incident_without_linked_records_holds_nothing(officer, body, agent):
    answer = decide(agent)
    open_with(officer, body)
    assert article_12_status()["legal_holds"]["active"] == 0
    result = retention.retention_sweep(as_of=later(FAR_FUTURE.days))
    assert result.decisions_held == 0
    assert Decision.objects.get(pk=answer["decision_id"]).context is None
