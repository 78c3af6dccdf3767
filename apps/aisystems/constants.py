"""The vocabulary of the AI system registry: EU AI Act roles, Annex III points, the Art. 6(3)
conditions, risk classes and lifecycle states (labels are our own short summaries)."""

from __future__ import annotations

import re

from django.db import models

#: A registered system's id: chosen at registration, stable, and what agents send as
#: ``ai_system`` on ``/decide``.
SYSTEM_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SYSTEM_ID_MAX_LENGTH = 100

NAME_MAX_LENGTH = 200
VERSION_MAX_LENGTH = 100
#: Limits of the two free-text fields (characters).
TEXT_MAX_LENGTH = 10_000
#: An Art. 6(3) exemption must say why in at least this many characters.
MIN_REASONING_LENGTH = 20


class Role(models.TextChoices):
    """Art. 3(3) provider, Art. 3(4) deployer, or both (an organisation that builds and uses it)."""

    PROVIDER = "provider", "Provider (Art. 3(3))"
    DEPLOYER = "deployer", "Deployer (Art. 3(4))"
    BOTH = "both", "Provider and deployer"


class AnnexIIIPoint(models.TextChoices):
    """The high-risk use cases of Annex III, by point and letter."""

    P1A = "1(a)", "1(a) Remote biometric identification"
    P1B = "1(b)", "1(b) Biometric categorisation by sensitive attributes"
    P1C = "1(c)", "1(c) Emotion recognition"
    P2A = "2(a)", "2(a) Safety component of critical infrastructure"
    P3A = "3(a)", "3(a) Education: admission or assignment"
    P3B = "3(b)", "3(b) Education: evaluating learning outcomes"
    P3C = "3(c)", "3(c) Education: deciding the level of education"
    P3D = "3(d)", "3(d) Education: monitoring behaviour during tests"
    P4A = "4(a)", "4(a) Employment: recruitment and selection"
    P4B = "4(b)", "4(b) Employment: terms, promotion, termination, tasks, monitoring"
    P5A = "5(a)", "5(a) Eligibility for public assistance benefits"
    P5B = "5(b)", "5(b) Creditworthiness and credit scoring"
    P5C = "5(c)", "5(c) Life and health insurance risk and pricing"
    P5D = "5(d)", "5(d) Emergency calls, dispatch and triage"
    P6A = "6(a)", "6(a) Law enforcement: risk of becoming a victim"
    P6B = "6(b)", "6(b) Law enforcement: polygraphs and similar tools"
    P6C = "6(c)", "6(c) Law enforcement: reliability of evidence"
    P6D = "6(d)", "6(d) Law enforcement: risk of offending or re-offending"
    P6E = "6(e)", "6(e) Law enforcement: profiling"
    P7A = "7(a)", "7(a) Migration: polygraphs and similar tools"
    P7B = "7(b)", "7(b) Migration: security, irregular-migration or health risk"
    P7C = "7(c)", "7(c) Migration: asylum, visa and residence applications"
    P7D = "7(d)", "7(d) Migration: detecting or identifying persons"
    P8A = "8(a)", "8(a) Justice: assisting judicial authorities"
    P8B = "8(b)", "8(b) Democratic processes: influencing elections or voting"


class Art63Condition(models.TextChoices):
    """The four conditions under which an Annex III system is not high-risk (Art. 6(3))."""

    A = "a", "(a) performs a narrow procedural task"
    B = "b", "(b) improves the result of a completed human activity"
    C = "c", "(c) detects decision patterns without replacing human assessment"
    D = "d", "(d) performs a preparatory task to an Annex III assessment"


class RiskClass(models.TextChoices):
    PROHIBITED = "prohibited", "Prohibited (Art. 5)"
    HIGH = "high", "High-risk (Art. 6)"
    LIMITED = "limited", "Limited risk (transparency, Art. 50)"
    MINIMAL = "minimal", "Minimal risk"


#: The classes an Annex III system may have without an Art. 6(3) exemption: high-risk, or
#: prohibited outright when an Art. 5 practice applies as well (e.g. emotion recognition at work).
ANNEX_III_CLASSES = (RiskClass.HIGH, RiskClass.PROHIBITED)


class Status(models.TextChoices):
    DEVELOPMENT = "development", "In development"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"


#: The fields a registration sets and an update may change (in this order on the ledger).
EDITABLE_FIELDS = (
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
)
#: Free text: on the ledger only as a commitment, never in clear.
TEXT_FIELDS = ("intended_purpose", "art_6_3_reasoning")
